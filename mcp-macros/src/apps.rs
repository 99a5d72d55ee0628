//! MCP Apps (`io.modelcontextprotocol/ui`, SEP-1865): `#[tool(app = "ui://…")]` links a
//! tool to the HTML view a host renders for it, and `#[resource("ui://…", app(…))]` serves
//! that view as `text/html;profile=mcp-app` with its sandbox's CSP and permissions. Both
//! become the `ui` object of the item's `_meta`.

use syn::spanned::Spanned;
use syn::{LitStr, meta::ParseNestedMeta};

use crate::attr::{self, Slot};
use crate::ctxt::Ctxt;

/// The MIME type of an app view.
pub(crate) const MIME_TYPE: &str = "text/html;profile=mcp-app";

const TOOL_APP_KEYS: &[&str] = &["uri", "visibility"];
const RESOURCE_APP_KEYS: &[&str] = &["csp", "permissions", "domain", "prefers_border"];
const CSP_KEYS: &[&str] = &[
    "connect_domains",
    "resource_domains",
    "frame_domains",
    "base_uri_domains",
];
const PERMISSIONS: &[&str] = &["camera", "microphone", "geolocation", "clipboard_write"];

/// `app = "ui://…"` or `app(uri = "ui://…", visibility = ["model", "app"])` on a tool.
pub(crate) struct ToolApp {
    uri: LitStr,
    visibility: Vec<LitStr>,
}

pub(crate) fn parse_tool_app(
    cx: &Ctxt,
    meta: &ParseNestedMeta<'_>,
) -> syn::Result<Option<ToolApp>> {
    let (uri, visibility) = if meta.input.peek(syn::Token![=]) {
        (Some(attr::string(meta)?), Vec::new())
    } else {
        let mut uri = Slot::new("uri");
        let mut visibility = Slot::new("visibility");
        meta.parse_nested_meta(|m| {
            let span = m.path.span();
            if m.path.is_ident("uri") {
                uri.set(cx, span, attr::string(&m)?);
            } else if m.path.is_ident("visibility") {
                visibility.set(cx, span, attr::strings(&m)?);
            } else {
                cx.syn_error(attr::unknown(&m, "`app(…)`", TOOL_APP_KEYS));
                attr::skip_value(&m)?;
            }
            Ok(())
        })?;
        (uri.get(), visibility.get().unwrap_or_default())
    };
    let Some(uri) = uri else {
        cx.syn_error(meta.error(
            "`app(…)` needs the view's URI: `app(uri = \"ui://name/view.html\")`, or `app = \"ui://name/view.html\"`",
        ));
        return Ok(None);
    };
    if !uri.value().starts_with("ui://") || uri.value().len() <= "ui://".len() {
        cx.error_spanned_by(
            &uri,
            "an app view's URI uses the `ui://` scheme, e.g. \"ui://counter/view.html\"",
        );
    }
    for v in &visibility {
        if v.value() != "model" && v.value() != "app" {
            cx.error_spanned_by(
                v,
                format!(
                    "unknown visibility `{}`; expected \"model\" (the agent sees and calls the tool) or \"app\" (only the tool's view calls it)",
                    v.value()
                ),
            );
        }
    }
    Ok(Some(ToolApp { uri, visibility }))
}

/// `app`, or `app(csp(connect_domains = […], …), permissions(camera, …), domain = "…",
/// prefers_border = true)` on a resource.
#[derive(Default)]
pub(crate) struct ResourceApp {
    csp: Vec<(&'static str, Vec<LitStr>)>,
    permissions: Vec<&'static str>,
    domain: Option<LitStr>,
    prefers_border: Option<bool>,
}

pub(crate) fn parse_resource_app(
    cx: &Ctxt,
    meta: &ParseNestedMeta<'_>,
) -> syn::Result<ResourceApp> {
    let mut app = ResourceApp::default();
    if !meta.input.peek(syn::token::Paren) {
        return Ok(app);
    }
    let mut domain = Slot::new("domain");
    let mut prefers_border = Slot::new("prefers_border");
    meta.parse_nested_meta(|m| {
        let span = m.path.span();
        if m.path.is_ident("csp") {
            m.parse_nested_meta(|c| {
                match CSP_KEYS.iter().find(|k| c.path.is_ident(k)) {
                    Some(k) => {
                        let origins = attr::strings(&c)?;
                        for o in &origins {
                            let v = o.value();
                            if v.is_empty() || v.contains(char::is_whitespace) || v.contains(';') {
                                cx.error_spanned_by(
                                    o,
                                    "a CSP origin is one origin such as \"https://api.example.com\" (no spaces or `;`)",
                                );
                            }
                        }
                        app.csp.push((k, origins));
                    }
                    None => {
                        cx.syn_error(attr::unknown(&c, "`csp(…)`", CSP_KEYS));
                        attr::skip_value(&c)?;
                    }
                }
                Ok(())
            })?;
        } else if m.path.is_ident("permissions") {
            m.parse_nested_meta(|p| {
                match PERMISSIONS.iter().find(|k| p.path.is_ident(k)) {
                    Some(k) => app.permissions.push(k),
                    None => {
                        cx.syn_error(attr::unknown(&p, "`permissions(…)`", PERMISSIONS));
                        attr::skip_value(&p)?;
                    }
                }
                Ok(())
            })?;
        } else if m.path.is_ident("domain") {
            domain.set(cx, span, attr::string(&m)?);
        } else if m.path.is_ident("prefers_border") {
            prefers_border.set(cx, span, attr::flag(&m)?);
        } else {
            cx.syn_error(attr::unknown(&m, "`app(…)`", RESOURCE_APP_KEYS));
            attr::skip_value(&m)?;
        }
        Ok(())
    })?;
    app.domain = domain.get();
    app.prefers_border = prefers_border.get();
    Ok(app)
}

/// A JSON string literal.
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn camel(key: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in key.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Puts `fields` (JSON `"key":value` pairs) first in the `_meta` object text `meta`;
/// an error when `meta(…)` already has one of their keys.
fn merge(
    cx: &Ctxt,
    span: proc_macro2::Span,
    meta: Option<String>,
    fields: &[(&str, String)],
) -> String {
    let rest = meta.unwrap_or_else(|| "{}".into());
    for (k, _) in fields {
        if rest.contains(&format!("{}:", json_string(k))) {
            cx.syn_error(syn::Error::new(
                span,
                format!("`meta(…)` sets `{k}`, which `app` sets: drop it from `meta`"),
            ));
        }
    }
    let inner = &rest[1..rest.len() - 1];
    let mut parts: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{}:{v}", json_string(k)))
        .collect();
    if !inner.is_empty() {
        parts.push(inner.to_string());
    }
    format!("{{{}}}", parts.join(","))
}

/// The tool's `_meta` with `ui: {resourceUri, visibility?}` (and the older flat
/// `ui/resourceUri` key that hosts before the `ui` object read).
pub(crate) fn tool_meta(cx: &Ctxt, meta: Option<String>, app: &ToolApp) -> String {
    let uri = json_string(&app.uri.value());
    let mut ui = format!("{{\"resourceUri\":{uri}");
    if !app.visibility.is_empty() {
        let v: Vec<String> = app
            .visibility
            .iter()
            .map(|v| json_string(&v.value()))
            .collect();
        ui.push_str(&format!(",\"visibility\":[{}]", v.join(",")));
    }
    ui.push('}');
    merge(
        cx,
        app.uri.span(),
        meta,
        &[("ui", ui), ("ui/resourceUri", uri)],
    )
}

/// The resource's `_meta` with `ui: {csp?, permissions?, domain?, prefersBorder?}`.
pub(crate) fn resource_meta(
    cx: &Ctxt,
    span: proc_macro2::Span,
    meta: Option<String>,
    app: &ResourceApp,
) -> String {
    let mut ui = Vec::new();
    if !app.csp.is_empty() {
        let csp: Vec<String> = app
            .csp
            .iter()
            .map(|(k, origins)| {
                let list: Vec<String> = origins.iter().map(|o| json_string(&o.value())).collect();
                format!("\"{}\":[{}]", camel(k), list.join(","))
            })
            .collect();
        ui.push(format!("\"csp\":{{{}}}", csp.join(",")));
    }
    if !app.permissions.is_empty() {
        let p: Vec<String> = app
            .permissions
            .iter()
            .map(|k| format!("\"{}\":{{}}", camel(k)))
            .collect();
        ui.push(format!("\"permissions\":{{{}}}", p.join(",")));
    }
    if let Some(d) = &app.domain {
        ui.push(format!("\"domain\":{}", json_string(&d.value())));
    }
    if let Some(b) = app.prefers_border {
        ui.push(format!("\"prefersBorder\":{b}"));
    }
    merge(cx, span, meta, &[("ui", format!("{{{}}}", ui.join(",")))])
}
