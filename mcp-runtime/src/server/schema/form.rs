//! The compile-time side of elicitation forms: which Rust types can be a form, a form field,
//! or the values of a multiple choice. `#[derive(Form)]` implements them for a user's struct
//! or enum, checking each field's type where it is written; [`requested_schema`] still checks
//! the JSON Schema when the form is sent, for what the types cannot show (`#[schemars(with)]`,
//! hand-written `JsonSchema` impls).
//!
//! [`requested_schema`]: crate::server::requested_schema

use std::collections::{BTreeSet, HashSet};

/// A type [`Context::elicit`](crate::server::Context::elicit) can ask for: a struct with
/// named fields, each a [`FormField`]. Implement it with `#[derive(Form)]` (beside
/// `Deserialize` and `JsonSchema`), which checks every field's type at compile time:
///
/// ```
/// use mcp_runtime::prelude::*;
/// use schemars::JsonSchema;
/// use serde::Deserialize;
///
/// #[derive(Deserialize, JsonSchema, Form)]
/// enum Seating { Inside, Terrace }
///
/// #[derive(Deserialize, JsonSchema, Form)]
/// struct Booking {
///     guests: u8,
///     seating: Option<Seating>,
///     notes: Option<String>,
/// }
/// ```
///
/// A field whose type cannot be a form field is an error at that type:
///
/// ```compile_fail
/// # use mcp_runtime::prelude::*;
/// # use schemars::JsonSchema;
/// # use serde::Deserialize;
/// #[derive(Deserialize, JsonSchema, Form)]
/// struct Address { street: String }
///
/// #[derive(Deserialize, JsonSchema, Form)]
/// struct Order {
///     to: Address, // a nested struct: its fields belong in the form itself
/// }
/// ```
///
/// Fields marked `#[serde(skip)]` are left out; a field with `#[serde(with = …)]`,
/// `#[serde(deserialize_with = …)]` or `#[schemars(with = …)]` is checked when the form is
/// sent, since its schema is not its type's; a `#[serde(flatten)]` field must be a `Form`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an elicitation form",
    label = "not a form",
    note = "a form is a struct with named fields, each a string, a number, a boolean or an enum \
            of unit variants: add `#[derive(Form)]` to `{Self}` beside `Deserialize` and \
            `JsonSchema`",
    note = "for a single value, `ctx.ask::<T>(message)` takes a scalar or an enum; for a yes/no \
            question, `ctx.confirm(message)`"
)]
pub trait Form {}

/// A type one field of an elicitation form can hold: a string, a number, a boolean, an enum
/// of unit variants (a single choice, with `#[derive(Form)]`), or a list of such an enum's
/// values (a multiple choice), each optionally in an `Option`. The type of
/// [`Context::ask`](crate::server::Context::ask).
///
/// Implement it by hand for a type whose JSON Schema is one of those, such as a
/// `#[serde(transparent)]` newtype around a `String`; the schema is still checked when the
/// form is sent.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a field of an elicitation form",
    label = "not a form field",
    note = "a form field is a string, a number, a boolean, an enum of unit variants with \
            `#[derive(Form)]`, or a `Vec` of such an enum, each optionally in an `Option`; a \
            nested struct's fields go into the form itself, and a list of strings is a string \
            the tool splits"
)]
pub trait FormField {}

/// The values of a multiple-choice field (`Vec<T>`, `HashSet<T>`, `BTreeSet<T>`): an enum of
/// unit variants with `#[derive(Form)]`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the values of a multiple-choice form field",
    label = "not an enum of choices",
    note = "a list field of a form is a multiple choice among the variants of an enum of unit \
            variants with `#[derive(Form)]`; free text is one `String` field"
)]
pub trait FormChoice: FormField {}

macro_rules! form_fields {
    ($($t:ty),* $(,)?) => { $(impl FormField for $t {})* };
}

form_fields!(
    String, char, bool, i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize, f32, f64,
);

impl<T: FormField> FormField for Option<T> {}
impl<T: FormChoice> FormField for Vec<T> {}
impl<T: FormChoice, S> FormField for HashSet<T, S> {}
impl<T: FormChoice> FormField for BTreeSet<T> {}

/// Names `T: FormField` in a type, so that rustc's verdict underlines the field's type.
#[doc(hidden)]
pub struct AssertFormField<T: FormField + ?Sized>(std::marker::PhantomData<T>);

/// Names `T: Form` in a type, for a `#[serde(flatten)]` field.
#[doc(hidden)]
pub struct AssertForm<T: Form + ?Sized>(std::marker::PhantomData<T>);
