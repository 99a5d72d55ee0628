//! What a request must show before it is served: an allowed `Origin` and `Host` (against DNS
//! rebinding), and media types the endpoint speaks. Credentials are checked by
//! [`auth::edge`](crate::auth::edge).

use hyper::HeaderMap;
use hyper::header::{ACCEPT, CONTENT_TYPE, HOST, ORIGIN};

use super::HttpOptions;

/// Host names that always mean this machine.
const LOOPBACK_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "[::1]"];

/// Why a request was refused before it reached MCP.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// 403: the `Origin` is not allowed.
    Origin,
    /// 403: the `Host` is not allowed.
    Host,
}

/// The checks of one server, prepared from its options.
pub(crate) struct Guard {
    any_origin: bool,
    origins: Vec<String>,
    /// `None`: `Host` is not checked.
    hosts: Option<Vec<HostRule>>,
}

/// An allowed `Host`: a name, and a port unless any port goes.
struct HostRule {
    name: String,
    port: Option<String>,
}

impl Guard {
    pub(crate) fn new(options: &HttpOptions, loopback: bool) -> Guard {
        let any_origin = options.allowed_origins.iter().any(|o| o == "*");
        let origins = options
            .allowed_origins
            .iter()
            .map(|o| o.trim_end_matches('/').to_ascii_lowercase())
            .collect();
        let any_host = options.allowed_hosts.iter().any(|h| h == "*");
        let hosts = if any_host || (!loopback && options.allowed_hosts.is_empty()) {
            None
        } else {
            let mut rules: Vec<HostRule> = options
                .allowed_hosts
                .iter()
                .map(|h| {
                    let (name, port) = split_host(h);
                    HostRule {
                        name: name.to_ascii_lowercase(),
                        port: port.map(str::to_string),
                    }
                })
                .collect();
            if loopback {
                rules.extend(LOOPBACK_NAMES.iter().map(|n| HostRule {
                    name: (*n).to_string(),
                    port: None,
                }));
            }
            Some(rules)
        };
        Guard {
            any_origin,
            origins,
            hosts,
        }
    }

    /// Checks `Origin` and `Host` (403).
    pub(crate) fn check_origin(&self, headers: &HeaderMap) -> Result<(), Refusal> {
        if !self.origin_allowed(headers) {
            return Err(Refusal::Origin);
        }
        if !self.host_allowed(headers) {
            return Err(Refusal::Host);
        }
        Ok(())
    }

    /// Whether the request's `Origin` (if any) may call the server. Requests from programs
    /// other than browsers carry no `Origin` and pass.
    pub(crate) fn origin_allowed(&self, headers: &HeaderMap) -> bool {
        let Some(origin) = headers.get(ORIGIN) else {
            return true;
        };
        let Ok(origin) = origin.to_str() else {
            return false;
        };
        if self.any_origin {
            return true;
        }
        let origin = origin.trim_end_matches('/').to_ascii_lowercase();
        if self.origins.contains(&origin) {
            return true;
        }
        // Any port of this machine, over http or https.
        let Some((scheme, rest)) = origin.split_once("://") else {
            return false;
        };
        let (name, _) = split_host(rest);
        matches!(scheme, "http" | "https") && LOOPBACK_NAMES.contains(&name)
    }

    fn host_allowed(&self, headers: &HeaderMap) -> bool {
        let Some(rules) = &self.hosts else {
            return true;
        };
        let Some(Ok(host)) = headers.get(HOST).map(|h| h.to_str()) else {
            // HTTP/1.1 requires `Host`; without one there is nothing to trust.
            return false;
        };
        let (name, port) = split_host(host);
        let name = name.to_ascii_lowercase();
        rules
            .iter()
            .any(|r| r.name == name && (r.port.is_none() || r.port.as_deref() == port))
    }
}

/// Splits `name[:port]`, keeping IPv6 literals (`[::1]:8000`) whole.
fn split_host(s: &str) -> (&str, Option<&str>) {
    if s.starts_with('[') {
        return match s.find(']') {
            Some(end) => {
                let port = s[end + 1..].strip_prefix(':');
                (&s[..=end], port)
            }
            None => (s, None),
        };
    }
    match s.rsplit_once(':') {
        Some((name, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
            (name, Some(port))
        }
        _ => (s, None),
    }
}

/// Which response types the request's `Accept` allows. No `Accept` at all allows anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Accepts {
    pub(crate) json: bool,
    pub(crate) sse: bool,
}

impl Accepts {
    /// Reads every `Accept` value without allocating; the value MCP clients send is
    /// recognised whole.
    pub(crate) fn of(headers: &HeaderMap) -> Accepts {
        let mut json = false;
        let mut sse = false;
        let mut any = false;
        for value in headers.get_all(ACCEPT) {
            any = true;
            let bytes = value.as_bytes();
            if bytes == b"application/json, text/event-stream"
                || bytes == b"text/event-stream, application/json"
            {
                (json, sse) = (true, true);
                continue;
            }
            let Ok(value) = value.to_str() else { continue };
            for range in value.split(',') {
                let (media, params) = range.split_once(';').unwrap_or((range, ""));
                let refused = !params.is_empty()
                    && params.split(';').any(|p| {
                        p.trim()
                            .strip_prefix("q=")
                            .and_then(|q| q.trim().parse::<f32>().ok())
                            .is_some_and(|q| q <= 0.0)
                    });
                if refused {
                    continue;
                }
                let media = media.trim();
                let is = |name: &str| media.eq_ignore_ascii_case(name);
                if is("*/*") {
                    (json, sse) = (true, true);
                } else if is("application/json") || is("application/*") {
                    json = true;
                } else if is("text/event-stream") || is("text/*") {
                    sse = true;
                }
            }
        }
        if !any {
            return Accepts {
                json: true,
                sse: true,
            };
        }
        Accepts { json, sse }
    }
}

/// Whether the body is declared as JSON (`application/json`, parameters allowed).
pub(crate) fn is_json_body(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    impl Guard {
        fn check(&self, headers: &HeaderMap) -> Result<(), Refusal> {
            self.check_origin(headers)
        }
    }

    fn guard(loopback: bool, origins: &[&str], hosts: &[&str], _token: Option<&str>) -> Guard {
        let options = HttpOptions {
            allowed_origins: origins.iter().map(|s| s.to_string()).collect(),
            allowed_hosts: hosts.iter().map(|s| s.to_string()).collect(),
            ..HttpOptions::default()
        };
        Guard::new(&options, loopback)
    }

    #[test]
    fn loopback_servers_accept_only_local_hosts_and_origins() {
        let g = guard(true, &[], &[], None);
        assert_eq!(g.check(&headers(&[("host", "127.0.0.1:8000")])), Ok(()));
        assert_eq!(g.check(&headers(&[("host", "localhost")])), Ok(()));
        assert_eq!(g.check(&headers(&[("host", "[::1]:9")])), Ok(()));
        assert_eq!(
            g.check(&headers(&[("host", "evil.example.com:8000")])),
            Err(Refusal::Host)
        );
        assert_eq!(g.check(&headers(&[])), Err(Refusal::Host));
        assert_eq!(
            g.check(&headers(&[
                ("host", "127.0.0.1:8000"),
                ("origin", "http://localhost:5173")
            ])),
            Ok(())
        );
        assert_eq!(
            g.check(&headers(&[
                ("host", "127.0.0.1:8000"),
                ("origin", "http://evil.example.com")
            ])),
            Err(Refusal::Origin)
        );
        assert_eq!(
            g.check(&headers(&[("host", "127.0.0.1"), ("origin", "null")])),
            Err(Refusal::Origin)
        );
    }

    #[test]
    fn allow_lists_extend_the_defaults() {
        let g = guard(
            true,
            &["https://app.example.com"],
            &["mcp.internal:8000"],
            None,
        );
        let ok = headers(&[
            ("host", "mcp.internal:8000"),
            ("origin", "https://APP.example.com"),
        ]);
        assert_eq!(g.check(&ok), Ok(()));
        assert_eq!(
            g.check(&headers(&[("host", "mcp.internal:9000")])),
            Err(Refusal::Host)
        );
        let g = guard(false, &["*"], &[], None);
        assert_eq!(
            g.check(&headers(&[
                ("host", "anything"),
                ("origin", "https://x.example")
            ])),
            Ok(())
        );
    }

    #[test]
    fn accept_headers_are_negotiated() {
        let both = Accepts {
            json: true,
            sse: true,
        };
        assert_eq!(Accepts::of(&headers(&[])), both);
        assert_eq!(
            Accepts::of(&headers(&[(
                "accept",
                "application/json, text/event-stream"
            )])),
            both
        );
        assert_eq!(Accepts::of(&headers(&[("accept", "*/*")])), both);
        assert_eq!(
            Accepts::of(&headers(&[("accept", "application/json")])),
            Accepts {
                json: true,
                sse: false
            }
        );
        assert_eq!(
            Accepts::of(&headers(&[(
                "accept",
                "text/event-stream, application/json;q=0"
            )])),
            Accepts {
                json: false,
                sse: true
            }
        );
        assert_eq!(
            Accepts::of(&headers(&[("accept", "text/html")])),
            Accepts {
                json: false,
                sse: false
            }
        );
        // Case, spaces and parameters, as the whole-value short cut leaves them to the loop.
        for (value, json, sse) in [
            ("Application/JSON , TEXT/Event-Stream", true, true),
            ("text/event-stream, application/json", true, true),
            ("application/json;q=0.5,text/event-stream", true, true),
            ("application/json; q=0, text/event-stream", false, true),
            ("application/*, text/*;q=0", true, false),
            ("text/event-stream;q=0.0, */*;q=0", false, false),
            ("application/jsonx, text/event-streams", false, false),
            ("", false, false),
        ] {
            assert_eq!(
                Accepts::of(&headers(&[("accept", value)])),
                Accepts { json, sse },
                "{value}"
            );
        }
        let mut two = headers(&[("accept", "application/json")]);
        two.append(ACCEPT, HeaderValue::from_static("text/event-stream"));
        assert_eq!(Accepts::of(&two), both);
        assert!(is_json_body(&headers(&[(
            "content-type",
            "application/json; charset=utf-8"
        )])));
        assert!(!is_json_body(&headers(&[("content-type", "text/plain")])));
        assert!(!is_json_body(&headers(&[])));
    }
}
