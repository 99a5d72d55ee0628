//! `#[arg(...)]`, optional arguments, extractors, raw identifiers and header-mirrored arguments.

use mcp_runtime::__private::{ToolDef, inventory};
use mcp_runtime::prelude::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Unit {
    #[default]
    Celsius,
    Fahrenheit,
}

/// Forecast for a city.
///
/// # Arguments
/// * `city` - City name (the `#[arg(description)]` below wins over this).
/// * `days` - How many days.
/// * `r#type` - Kind of forecast.
#[tool]
fn forecast(
    #[arg(description = "City name, e.g. \"Paris\".")] city: String,
    #[arg(default = 3)] days: u32,
    #[arg(default)] unit: Unit,
    #[arg(default = Unit::Fahrenheit, rename = "display_unit")] display: Unit,
    #[arg(default = "metric")] system: String,
    #[arg(default = vec![1, 2])] hours: Vec<u8>,
    #[arg(description = "Language code", default = "en", rename = "lang")] language: String,
    country: Option<String>,
    r#type: String,
    ctx: Context,
) -> String {
    let _ = (unit, display, hours, ctx.request_id());
    format!("{city} {days} {system} {language} {country:?} {type}", type = r#type)
}

/// `Context` alone, in the middle, and an `Option` with a default.
#[tool]
fn whoami(
    #[arg(default = Some(1))] first: Option<i32>,
    ctx: Context,
    #[arg(rename = "loop")] r#loop: bool,
) -> String {
    format!("{first:?} {} {:?}", r#loop, ctx.protocol_version())
}

/// A tool whose function name is a raw identifier: its name is `match`.
#[tool]
fn r#match(pattern: String, text: String) -> bool {
    text.contains(&pattern)
}

/// Arguments described by the `# Arguments` list, in `- name: text` style.
///
/// # Args
/// - a: The first.
/// - b: The second.
#[tool]
fn sub(a: i64, b: i64) -> i64 {
    a - b
}

/// Routed by region and shard: both travel in HTTP headers too.
#[tool]
fn route(
    #[arg(header = "Region", description = "Where to run.")] region: String,
    #[arg(header = "Shard-No.")] shard: Option<u32>,
    #[arg(header = "Dry_Run", default)] dry_run: bool,
    sql: String,
) -> String {
    format!("{region} {shard:?} {dry_run} {sql}")
}

fn input_schema(name: &str) -> serde_json::Value {
    let def = inventory::iter::<ToolDef>
        .into_iter()
        .find(|d| d.name == name)
        .unwrap_or_else(|| panic!("tool `{name}` is not registered"));
    serde_json::Value::Object((def.input_schema)())
}

fn main() {
    let s = input_schema("forecast");
    let props = s["properties"].as_object().expect("properties");
    let mut names: Vec<&str> = props.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["city", "country", "days", "display_unit", "hours", "lang", "system", "type", "unit"],
        "{s:#}"
    );
    assert_eq!(props["city"]["description"], "City name, e.g. \"Paris\".", "{s:#}");
    assert_eq!(props["days"]["description"], "How many days.", "{s:#}");
    assert_eq!(props["type"]["description"], "Kind of forecast.", "{s:#}");
    assert_eq!(props["lang"]["description"], "Language code", "{s:#}");
    assert_eq!(props["days"]["default"], 3, "{s:#}");
    assert_eq!(props["unit"]["default"], "celsius", "{s:#}");
    assert_eq!(props["display_unit"]["default"], "fahrenheit", "{s:#}");
    assert_eq!(props["system"]["default"], "metric", "{s:#}");
    assert_eq!(props["hours"]["default"], serde_json::json!([1, 2]), "{s:#}");
    assert_eq!(props["lang"]["default"], "en", "{s:#}");
    let mut required: Vec<&str> = s["required"]
        .as_array()
        .map(|r| r.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    required.sort_unstable();
    assert_eq!(required, ["city", "type"], "{s:#}");

    let s = input_schema("whoami");
    let props = s["properties"].as_object().expect("properties");
    let mut names: Vec<&str> = props.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(names, ["first", "loop"], "{s:#}");

    assert!(inventory::iter::<ToolDef>.into_iter().any(|d| d.name == "match"));

    let s = input_schema("route");
    let props = s["properties"].as_object().expect("properties");
    assert_eq!(props["region"]["x-mcp-header"], "Region", "{s:#}");
    assert_eq!(props["region"]["description"], "Where to run.", "{s:#}");
    assert_eq!(props["region"]["type"], "string", "{s:#}");
    assert_eq!(props["shard"]["x-mcp-header"], "Shard-No.", "{s:#}");
    assert_eq!(props["shard"]["type"], "integer", "{s:#}");
    assert_eq!(props["dry_run"]["x-mcp-header"], "Dry_Run", "{s:#}");
    assert_eq!(props["dry_run"]["type"], "boolean", "{s:#}");
    assert!(props["sql"].get("x-mcp-header").is_none(), "{s:#}");
    let s = input_schema("forecast");
    assert!(
        s["properties"].as_object().expect("properties").values().all(|p| p.get("x-mcp-header").is_none()),
        "{s:#}"
    );

    let s = input_schema("sub");
    assert_eq!(s["properties"]["a"]["description"], "The first.", "{s:#}");
    assert_eq!(s["properties"]["b"]["description"], "The second.", "{s:#}");
}
