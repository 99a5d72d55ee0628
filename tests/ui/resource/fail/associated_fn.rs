use mcp_runtime::prelude::*;

struct Settings;

/* A comment with an unbalanced brace: { */
impl Settings {
    /// The configuration (no receiver, but still inside an `impl`).
    #[resource(uri = "config://app")]
    fn config() -> String {
        String::from("{ \"level\": 1 }")
    }
}

fn main() {}
