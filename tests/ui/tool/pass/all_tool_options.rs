//! Every `#[tool]` option at once, in both spellings where there are two.

use mcp_runtime::__private::{ToolDef, inventory};
use mcp_runtime::prelude::*;

/// Add two integers (the doc comment loses to `description`).
#[tool(
    name = "math.add-v2",
    title = "Add",
    description = "Add two integers.",
    tags("math", "arithmetic"),
    meta(
        owner = "math-team",
        version = 2,
        offset = -3,
        weight = 0.5,
        negative_float = -1.25,
        stable = true,
        experimental = false,
        "io.example/key" = 1,
        type = "keyword key",
        quote = "say \"hi\"\n",
    ),
    icon = "https://example.com/add.png",
    icon(
        src = "https://example.com/add-dark.svg",
        mime_type = "image/svg+xml",
        sizes = ["48x48", "any"],
        theme = "dark",
    ),
    icon(src = "data:image/png;base64,AAAA", sizes("16x16"), theme = "light"),
    annotations(
        title = "Adder",
        read_only,
        destructive = false,
        idempotent = true,
        open_world = false,
    ),
    output_schema = false,
    blocking,
    task = "required",
    timeout = "1500ms",
    max_concurrency = 4,
)]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

/// `tags = [...]`, `output_schema` as a bare flag, `blocking = false`, `task` as a bare flag.
#[tool(tags = ["math"], output_schema, blocking = false, task, timeout = "2m")]
fn negate(a: i64) -> i64 {
    -a
}

/// A single tag as a plain string.
#[tool(tags = "math", annotations(read_only = true, destructive), task = "optional")]
fn double(a: i64) -> i64 {
    a * 2
}

fn point_schema() -> serde_json::Value {
    serde_json::json!({
        "type": "object",
        "properties": {"x": {"type": "integer"}},
        "$defs": {"unused": {"$anchor": "u"}},
        "additionalProperties": false
    })
}

/// A verbatim input schema.
#[tool(input_schema = point_schema)]
fn point(x: Option<i64>) -> i64 {
    x.unwrap_or(0)
}

/// No options at all, and no parameters.
#[tool()]
fn zero() -> i64 {
    0
}

fn def(name: &str) -> &'static ToolDef {
    inventory::iter::<ToolDef>
        .into_iter()
        .find(|d| d.name == name)
        .unwrap_or_else(|| panic!("tool `{name}` is not registered"))
}

fn main() {
    let add = def("math.add-v2");
    assert_eq!(add.title, Some("Add"));
    assert_eq!(add.description, Some("Add two integers."));
    assert_eq!(add.tags, ["math", "arithmetic"]);
    let meta: serde_json::Value = serde_json::from_str(add.meta.expect("meta")).expect("meta is JSON");
    assert_eq!(
        meta,
        serde_json::json!({
            "owner": "math-team",
            "version": 2,
            "offset": -3,
            "weight": 0.5,
            "negative_float": -1.25,
            "stable": true,
            "experimental": false,
            "io.example/key": 1,
            "type": "keyword key",
            "quote": "say \"hi\"\n",
        })
    );
    assert_eq!(add.icons.len(), 3);
    assert_eq!(add.icons[0].src, "https://example.com/add.png");
    assert_eq!(add.icons[0].mime_type, None);
    assert_eq!(add.icons[1].mime_type, Some("image/svg+xml"));
    assert_eq!(add.icons[1].sizes, ["48x48", "any"]);
    assert_eq!(add.icons[1].theme, Some("dark"));
    assert_eq!(add.icons[2].sizes, ["16x16"]);
    assert_eq!(add.icons[2].theme, Some("light"));
    let a = &add.annotations;
    assert_eq!(
        (a.title, a.read_only, a.destructive, a.idempotent, a.open_world),
        (Some("Adder"), Some(true), Some(false), Some(true), Some(false))
    );
    assert!((add.output_schema)().is_none(), "output_schema = false");
    assert_eq!(add.task, mcp_runtime::TaskSupport::Required);
    assert_eq!(add.limits.timeout, Some(std::time::Duration::from_millis(1500)));
    assert_eq!(add.limits.max_concurrency, Some(4));

    let negate = def("negate");
    assert_eq!(negate.tags, ["math"]);
    assert!((negate.output_schema)().is_some());
    assert_eq!(negate.meta, None);
    assert_eq!(negate.description, Some("`tags = [...]`, `output_schema` as a bare flag, `blocking = false`, `task` as a bare flag."));
    assert_eq!(negate.task, mcp_runtime::TaskSupport::Optional);
    assert_eq!(negate.limits.timeout, Some(std::time::Duration::from_secs(120)));
    assert_eq!(negate.limits.max_concurrency, None);

    let double = def("double");
    assert_eq!(double.tags, ["math"]);
    assert_eq!((double.annotations.read_only, double.annotations.destructive), (Some(true), Some(true)));
    assert_eq!(double.task, mcp_runtime::TaskSupport::Optional);

    let point = def("point");
    assert_eq!(serde_json::Value::Object((point.input_schema)()), point_schema());

    let zero = def("zero");
    assert!(zero.tags.is_empty() && zero.icons.is_empty());
    assert_eq!(zero.annotations.read_only, None);
    assert_eq!(zero.task, mcp_runtime::TaskSupport::Forbidden);
    assert_eq!(zero.limits, mcp_runtime::ToolLimits::NONE);
}
