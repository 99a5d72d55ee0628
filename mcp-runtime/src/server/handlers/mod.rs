//! What macro expansions call to run a handler: arguments and extractors unpacked from the
//! request (`call`), typed text for prompt arguments and template variables (`text`), the
//! glue of resource reads and prompt gets, completion, and shared state.

pub(crate) mod call;
pub(crate) mod completion;
pub(crate) mod completion_fn;
pub(crate) mod prompt;
pub(crate) mod prompt_error;
pub(crate) mod resource;
pub(crate) mod state;
pub(crate) mod template_values;
pub(crate) mod text;
