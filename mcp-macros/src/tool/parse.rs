//! `#[tool(...)]` and `#[arg(...)]` → the tool model.

use proc_macro2::TokenStream;
use syn::parse::Parser;
use syn::spanned::Spanned;
use syn::{ItemFn, LitStr, Type};

use crate::attr::{self, Slot};
use crate::common::{Common, CommonOptions};
use crate::ctxt::Ctxt;
use crate::docs::{self, Docs};
use crate::param::Param;
use crate::signature::{self, Kind};

pub(crate) const TOOL_KEYS: &[&str] = &[
    "name",
    "title",
    "description",
    "tags",
    "meta",
    "icon",
    "annotations",
    "output_schema",
    "input_schema",
    "blocking",
    "task",
    "scopes",
    "timeout",
    "max_concurrency",
    "crate",
    "app",
    // first-day checks
    "text",
];
pub(crate) const ANNOTATION_KEYS: &[&str] = &[
    "title",
    "read_only",
    "destructive",
    "idempotent",
    "open_world",
];

pub(crate) const KIND: Kind = Kind {
    attr: "`#[tool]`",
    noun: "tool",
    generic_reason: "each argument's JSON Schema is fixed at compile time",
    return_reason: "the type the output schema comes from",
    arg_keys: &["description", "default", "rename", "header"],
};

/// The whole tool, as understood from the attribute and the function.
pub(crate) struct Tool {
    /// The function, with the `#[arg]` attributes removed.
    pub(crate) item: ItemFn,
    pub(crate) common: CommonOptions,
    pub(crate) options: Options,
    pub(crate) params: Vec<Param>,
    pub(crate) docs: Docs,
    /// The declared return type; `None` for `()`.
    pub(crate) output: Option<Type>,
}

#[derive(Default)]
pub(crate) struct Options {
    pub(crate) annotations: Annotations,
    pub(crate) output_schema: bool,
    /// A function giving the input schema verbatim, instead of the one built from the
    /// parameters.
    pub(crate) input_schema: Option<syn::Path>,
    pub(crate) blocking: bool,
    /// `task = "optional" | "required"` (a bare `task` is optional).
    pub(crate) task: Option<TaskMode>,
    // --- first-day checks
    /// `text = false`: structured results without their text copy; `None` follows the server.
    pub(crate) text: Option<bool>,
    /// `timeout = "30s"`, in milliseconds.
    pub(crate) timeout_ms: Option<u64>,
    /// `max_concurrency = N`.
    pub(crate) max_concurrency: Option<u32>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum TaskMode {
    Optional,
    Required,
}

#[derive(Default)]
pub(crate) struct Annotations {
    pub(crate) title: Option<LitStr>,
    pub(crate) read_only: Option<bool>,
    pub(crate) destructive: Option<bool>,
    pub(crate) idempotent: Option<bool>,
    pub(crate) open_world: Option<bool>,
}

pub(crate) fn parse(cx: &Ctxt, args: TokenStream, mut item: ItemFn) -> Tool {
    let (common, options) = parse_options(cx, args);
    let docs = docs::parse(&item.attrs);
    signature::check_not_associated(cx, &item, &KIND);
    let params = signature::params(cx, &mut item, &KIND);
    let output = signature::output(&item);
    Tool {
        item,
        common,
        options,
        params,
        docs,
        output,
    }
}

fn parse_options(cx: &Ctxt, args: TokenStream) -> (CommonOptions, Options) {
    let mut common = Common::new();
    let mut annotations = Slot::new("annotations");
    let mut output_schema = Slot::new("output_schema");
    let mut blocking = Slot::new("blocking");
    let mut input_schema = Slot::new("input_schema");
    let mut task = Slot::new("task");
    // MCP Apps: the view the tool comes with.
    let mut app = Slot::new("app");
    // first-day checks
    let mut text = Slot::new("text");
    let mut timeout = Slot::new("timeout");
    let mut max_concurrency = Slot::new("max_concurrency");
    let parser = syn::meta::parser(|meta| {
        let span = meta.path.span();
        if common.parse(cx, &meta)? {
        } else if meta.path.is_ident("annotations") {
            annotations.set(cx, span, parse_annotations(cx, &meta)?);
        } else if meta.path.is_ident("output_schema") {
            output_schema.set(cx, span, attr::flag(&meta)?);
        } else if meta.path.is_ident("input_schema") {
            input_schema.set(cx, span, meta.value()?.parse::<syn::Path>()?);
        } else if meta.path.is_ident("blocking") {
            blocking.set(cx, span, attr::flag(&meta)?);
        } else if meta.path.is_ident("task") {
            if let Some(mode) = parse_task(cx, &meta)? {
                task.set(cx, span, mode);
            }
        } else if meta.path.is_ident("app") {
            if let Some(a) = crate::apps::parse_tool_app(cx, &meta)? {
                app.set(cx, span, a);
            }
        } else if meta.path.is_ident("text") {
            text.set(cx, span, attr::flag(&meta)?);
        } else if meta.path.is_ident("timeout") {
            if let Some(ms) = parse_timeout(cx, &meta)? {
                timeout.set(cx, span, ms);
            }
        } else if meta.path.is_ident("max_concurrency") {
            if let Some(n) = parse_max_concurrency(cx, &meta)? {
                max_concurrency.set(cx, span, n);
            }
        } else if let Some(annotation) = attr::key(&meta)
            .and_then(|key| attr::did_you_mean(&key, ANNOTATION_KEYS[1..].iter().copied()))
        {
            cx.syn_error(meta.error(format!(
                "unknown `#[tool]` option `{}`; did you mean `annotations({annotation})`?",
                attr::key(&meta).unwrap_or_default()
            )));
            attr::skip_value(&meta)?;
        } else {
            cx.syn_error(attr::unknown(&meta, "`#[tool]`", TOOL_KEYS));
            attr::skip_value(&meta)?;
        }
        Ok(())
    });
    if let Err(e) = parser.parse2(args) {
        cx.syn_error(e);
    }
    let mut common = common.finish();
    if let Some(app) = app.get() {
        common.meta = Some(crate::apps::tool_meta(cx, common.meta.take(), &app));
    }
    (
        common,
        Options {
            annotations: annotations.get().unwrap_or_default(),
            output_schema: output_schema.get().unwrap_or(true),
            input_schema: input_schema.get(),
            blocking: blocking.get().unwrap_or(false),
            task: task.get(),
            text: text.get(),
            timeout_ms: timeout.get(),
            max_concurrency: max_concurrency.get(),
        },
    )
}

/// `timeout = "30s"`: a whole number of `ms`, `s`, `m` or `h`, more than zero.
fn parse_timeout(cx: &Ctxt, meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<Option<u64>> {
    let lit = match meta.value()?.parse::<syn::Lit>()? {
        syn::Lit::Str(s) => s,
        other => {
            cx.syn_error(syn::Error::new(
                other.span(),
                "`timeout` takes a duration as a string: `timeout = \"30s\"`",
            ));
            return Ok(None);
        }
    };
    let text = lit.value();
    match duration_ms(text.trim()) {
        Ok(ms) => Ok(Some(ms)),
        Err(why) => {
            cx.syn_error(syn::Error::new(
                lit.span(),
                format!(
                    "invalid `timeout` {text:?}: {why}; write a whole number with a unit: \"500ms\", \"30s\", \"5m\" or \"1h\""
                ),
            ));
            Ok(None)
        }
    }
}

fn duration_ms(text: &str) -> Result<u64, &'static str> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or("the unit is missing")?;
    let (number, unit) = text.split_at(split);
    if number.is_empty() {
        return Err("it does not start with a number");
    }
    let n: u64 = number.parse().map_err(|_| "the number is too large")?;
    let scale = match unit.trim() {
        "ms" => 1,
        "s" => 1_000,
        "m" | "min" => 60_000,
        "h" => 3_600_000,
        _ => return Err("the unit is not one of ms, s, m, h"),
    };
    match n.checked_mul(scale) {
        Some(0) => Err("a timeout of zero would stop every call"),
        Some(ms) => Ok(ms),
        None => Err("the number is too large"),
    }
}

/// `max_concurrency = N`, N at least 1.
fn parse_max_concurrency(
    cx: &Ctxt,
    meta: &syn::meta::ParseNestedMeta<'_>,
) -> syn::Result<Option<u32>> {
    let expr = meta.value()?.parse::<syn::Expr>()?;
    let lit = match &expr {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(n),
            ..
        }) => n.clone(),
        _ => {
            cx.syn_error(syn::Error::new_spanned(
                &expr,
                "`max_concurrency` takes a whole number: `max_concurrency = 4`",
            ));
            return Ok(None);
        }
    };
    match lit.base10_parse::<u32>() {
        Ok(0) => {
            cx.syn_error(syn::Error::new(
                lit.span(),
                "`max_concurrency` must be at least 1: with 0 no call could ever run",
            ));
            Ok(None)
        }
        Ok(n) => Ok(Some(n)),
        Err(_) => {
            cx.syn_error(syn::Error::new(
                lit.span(),
                format!(
                    "`max_concurrency` must be a whole number from 1 to {}",
                    u32::MAX
                ),
            ));
            Ok(None)
        }
    }
}

/// `task`, `task = "optional"` or `task = "required"`.
fn parse_task(cx: &Ctxt, meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<Option<TaskMode>> {
    if !meta.input.peek(syn::Token![=]) {
        return Ok(Some(TaskMode::Optional));
    }
    let lit = attr::string(meta)?;
    match lit.value().as_str() {
        "optional" => Ok(Some(TaskMode::Optional)),
        "required" => Ok(Some(TaskMode::Required)),
        other => {
            cx.syn_error(syn::Error::new(
                lit.span(),
                format!(
                    "unknown task mode `{other}`; expected \"optional\" (a task when the client supports tasks) or \"required\" (only as a task)"
                ),
            ));
            Ok(None)
        }
    }
}

fn parse_annotations(cx: &Ctxt, meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<Annotations> {
    let mut title = Slot::new("title");
    let mut read_only = Slot::new("read_only");
    let mut destructive = Slot::new("destructive");
    let mut idempotent = Slot::new("idempotent");
    let mut open_world = Slot::new("open_world");
    meta.parse_nested_meta(|m| {
        let span = m.path.span();
        if m.path.is_ident("title") {
            title.set(cx, span, attr::string(&m)?);
        } else if m.path.is_ident("read_only") {
            read_only.set(cx, span, attr::flag(&m)?);
        } else if m.path.is_ident("destructive") {
            destructive.set(cx, span, attr::flag(&m)?);
        } else if m.path.is_ident("idempotent") {
            idempotent.set(cx, span, attr::flag(&m)?);
        } else if m.path.is_ident("open_world") {
            open_world.set(cx, span, attr::flag(&m)?);
        } else {
            cx.syn_error(attr::unknown(&m, "`annotations`", ANNOTATION_KEYS));
            attr::skip_value(&m)?;
        }
        Ok(())
    })?;
    Ok(Annotations {
        title: title.get(),
        read_only: read_only.get(),
        destructive: destructive.get(),
        idempotent: idempotent.get(),
        open_world: open_world.get(),
    })
}
