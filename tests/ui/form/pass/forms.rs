use std::collections::{BTreeSet, HashSet};

use mcp_runtime::prelude::*;
use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Deserialize, JsonSchema, Form, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
enum Topping {
    Cheese,
    Olives,
}

#[derive(Deserialize, JsonSchema, Form)]
struct Contact {
    name: String,
    email: Option<String>,
}

fn street() -> String {
    String::new()
}

#[derive(Deserialize, JsonSchema, Form)]
struct Order<T> {
    count: u32,
    price: f64,
    gift: bool,
    initial: char,
    toppings: Vec<Topping>,
    more: Option<HashSet<Topping>>,
    sorted: BTreeSet<Topping>,
    choice: Option<Topping>,
    value: T,
    #[serde(flatten)]
    contact: Contact,
    #[serde(skip, default = "street")]
    street: String,
    #[schemars(with = "String")]
    note: Vec<u8>,
}

/// Asks with every kind of form.
#[tool]
async fn ask(ctx: Context) -> Result<String, ToolError> {
    let _ = ctx.elicit::<Order<i64>>("Order?").await?;
    let _ = ctx.ask::<Topping>("Which?").await?;
    let _ = ctx.ask::<Vec<Topping>>("Which ones?").await?;
    let _ = ctx.ask::<Option<u8>>("How many?").await?;
    Ok("asked".into())
}

fn main() {}
