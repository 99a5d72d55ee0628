//! MCP App views (the extension `io.modelcontextprotocol/ui`, SEP-1865) hosted by the
//! inspector: the view's `ui://` resource is read from the server, kept under a random id,
//! and served from `/view/<id>` with the Content-Security-Policy its `_meta.ui.csp` asks for
//! and a `sandbox allow-scripts` directive, so that the frame has an opaque origin whatever
//! the page does with it. The page frames it with `sandbox="allow-scripts"` and speaks the
//! postMessage bridge; the view never sees the session token.

use std::collections::VecDeque;
use std::sync::Mutex;

use mcp_runtime::Client;
use mcp_runtime::protocol::base64;
use serde_json::{Value, json};

/// The MIME type of a view.
pub(super) const VIEW_MIME: &str = "text/html;profile=mcp-app";
/// How many views are kept for `/view/<id>` (the oldest goes first).
const KEPT: usize = 16;
/// The largest view served.
const MAX_VIEW: usize = 4 * 1024 * 1024;

/// One view ready to be framed.
pub(super) struct View {
    pub id: String,
    pub html: String,
    pub csp: String,
}

/// The views read so far, bounded.
#[derive(Default)]
pub(super) struct Views(Mutex<VecDeque<View>>);

impl Views {
    fn keep(&self, view: View) {
        let mut views = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if views.len() == KEPT {
            views.pop_front();
        }
        views.push_back(view);
    }

    /// The HTML and CSP of the view with this id.
    pub(super) fn get(&self, id: &str) -> Option<(String, String)> {
        let views = self.0.lock().unwrap_or_else(|p| p.into_inner());
        views
            .iter()
            .find(|v| v.id == id)
            .map(|v| (v.html.clone(), v.csp.clone()))
    }
}

/// Whether `source` may stand in a CSP source list: one origin-like token, no quotes,
/// separators or whitespace (which would add sources or directives of the server's choosing).
fn safe_source(source: &str) -> bool {
    !source.is_empty()
        && source.len() <= 255
        && source
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b';' | b',' | b'\'' | b'"'))
}

fn sources(csp: &Value, key: &str, dropped: &mut Vec<String>) -> Vec<String> {
    let mut out = Vec::new();
    for s in csp[key].as_array().into_iter().flatten() {
        match s.as_str() {
            Some(s) if safe_source(s) => out.push(s.to_string()),
            other => dropped.push(format!(
                "{key}: {}",
                other.map_or_else(|| s.to_string(), str::to_string)
            )),
        }
    }
    out
}

/// The Content-Security-Policy of a view from its `_meta.ui.csp`: with none declared, no
/// network, no nested frames and nothing from other origins (the extension's default).
/// Returns the policy and the declared sources that were refused.
pub(super) fn csp(ui: &Value) -> (String, Vec<String>) {
    let declared = &ui["csp"];
    let mut dropped = Vec::new();
    let connect = sources(declared, "connectDomains", &mut dropped);
    let resource = sources(declared, "resourceDomains", &mut dropped);
    let frame = sources(declared, "frameDomains", &mut dropped);
    let base = sources(declared, "baseUriDomains", &mut dropped);
    let list = |extra: &[String], default: &str| {
        if extra.is_empty() {
            default.to_string()
        } else {
            format!("{default} {}", extra.join(" "))
        }
    };
    let res = list(&resource, "'self' 'unsafe-inline'");
    let data = list(&resource, "'self' data:");
    let policy = format!(
        "default-src 'none'; script-src {res}; style-src {res}; img-src {data}; \
         font-src {data}; media-src {data}; connect-src {}; frame-src {}; base-uri {}; \
         form-action 'none'; frame-ancestors 'self'; sandbox allow-scripts",
        if connect.is_empty() {
            "'none'".to_string()
        } else {
            connect.join(" ")
        },
        if frame.is_empty() {
            "'none'".to_string()
        } else {
            frame.join(" ")
        },
        if base.is_empty() {
            "'self'".to_string()
        } else {
            base.join(" ")
        },
    );
    (policy, dropped)
}

fn random_id() -> Result<String, String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| format!("no randomness for the view id: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Reads the view `uri` from the server and keeps it: `{id, csp, ui, dropped}` for the page.
pub(super) async fn load(views: &Views, client: &Client, uri: &str) -> Result<Value, String> {
    if !uri.starts_with("ui://") {
        return Err(format!(
            "`{uri}` is not a view: an app view's URI starts with ui://"
        ));
    }
    let read: Value = client
        .request("resources/read", &json!({ "uri": uri }))
        .await
        .map_err(|e| format!("could not read the view {uri}: {e}"))?;
    let contents = read["contents"].as_array().cloned().unwrap_or_default();
    let Some(item) = contents
        .iter()
        .find(|c| c["uri"] == uri)
        .or_else(|| contents.first())
    else {
        return Err(format!(
            "the server returned no contents for the view {uri}"
        ));
    };
    let mime = item["mimeType"].as_str().unwrap_or("");
    if mime.replace(' ', "") != VIEW_MIME {
        return Err(format!(
            "the view {uri} has the MIME type `{mime}`; a view must be `{VIEW_MIME}` \
             (declare it with #[resource(\"{uri}\", app)])"
        ));
    }
    let html = match (item["text"].as_str(), item["blob"].as_str()) {
        (Some(t), _) => t.to_string(),
        (None, Some(b)) => {
            let bytes = base64::decode(b).map_err(|e| format!("the view's blob: {e}"))?;
            String::from_utf8(bytes).map_err(|_| format!("the view {uri} is not UTF-8 HTML"))?
        }
        (None, None) => return Err(format!("the view {uri} has neither text nor blob")),
    };
    if html.len() > MAX_VIEW {
        return Err(format!(
            "the view {uri} is {} bytes; the inspector frames views up to {MAX_VIEW}",
            html.len()
        ));
    }
    // The policy is on each content item; hosts before that read it from the listing.
    let ui = item["_meta"]["ui"].clone();
    let (policy, dropped) = csp(&ui);
    let id = random_id()?;
    views.keep(View {
        id: id.clone(),
        html,
        csp: policy.clone(),
    });
    Ok(json!({ "id": id, "csp": policy, "ui": ui, "dropped": dropped }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_policy_allows_no_network_and_no_frames() {
        let (p, dropped) = csp(&Value::Null);
        assert!(p.contains("connect-src 'none'"), "{p}");
        assert!(p.contains("frame-src 'none'"), "{p}");
        assert!(p.contains("sandbox allow-scripts"), "{p}");
        assert!(dropped.is_empty());
    }

    #[test]
    fn declared_origins_are_added_and_injections_refused() {
        let ui = json!({ "csp": {
            "connectDomains": ["https://api.example.com", "https://x.test; script-src *"],
            "resourceDomains": ["https://cdn.example.com"],
        }});
        let (p, dropped) = csp(&ui);
        assert!(p.contains("connect-src https://api.example.com;"), "{p}");
        assert!(
            p.contains("script-src 'self' 'unsafe-inline' https://cdn.example.com;"),
            "{p}"
        );
        assert!(!p.contains("x.test"), "{p}");
        assert_eq!(dropped.len(), 1);
    }

    #[test]
    fn views_are_bounded() {
        let views = Views::default();
        for i in 0..(KEPT + 3) {
            views.keep(View {
                id: i.to_string(),
                html: String::new(),
                csp: String::new(),
            });
        }
        assert!(views.get("0").is_none());
        assert!(views.get(&(KEPT + 2).to_string()).is_some());
    }
}
