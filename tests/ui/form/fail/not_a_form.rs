use mcp_runtime::prelude::*;
use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Deserialize, JsonSchema)]
struct Contact {
    name: String,
}

#[derive(Deserialize, JsonSchema)]
enum Size {
    Small,
    Large,
}

/// Asks with types that did not derive `Form`.
#[tool]
async fn ask(ctx: Context) -> Result<String, ToolError> {
    let _ = ctx.elicit::<Contact>("Who?").await?;
    let _ = ctx.ask::<Size>("Which size?").await?;
    let _ = ctx.ask::<Contact>("Who?").await?;
    Ok("asked".into())
}

fn main() {}
