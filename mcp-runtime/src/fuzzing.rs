//! Entry points of the fuzz targets (`fuzz/`, the `fuzzing` feature): each takes arbitrary
//! bytes, drives one parser of client input with them, and must neither panic nor hang. Not
//! API: it changes without notice.

use std::sync::{Arc, OnceLock};

use crate::server::ServerCore;
use crate::server::dispatch::session::Session;

fn core() -> Arc<ServerCore> {
    static CORE: OnceLock<Arc<ServerCore>> = OnceLock::new();
    Arc::clone(CORE.get_or_init(|| {
        crate::Server::empty("fuzz")
            .build()
            .expect("an empty server builds")
    }))
}

/// One JSON-RPC message: parsed, then dispatched to a fresh session (what it starts is
/// dropped, not run).
pub fn jsonrpc(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let core = core();
    let (out, _rx) = crate::server::dispatch::outbound::for_session(&core.limits);
    let session = Session::new(core, out);
    // Twice: the second meets an initialized session when the first was `initialize`.
    for _ in 0..2 {
        drop(session.handle_message(text, &session.outbound().clone()));
    }
}

/// A URI template and a URI (split at the first newline): parsed, matched, and the bound
/// values checked as template parameters are.
pub fn uri_template(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (template, uri) = text.split_once('\n').unwrap_or((text, ""));
    let Ok(t) = crate::server::uri_template::UriTemplate::parse(template) else {
        return;
    };
    if let Some(bindings) = t.match_uri(uri) {
        for (name, value) in bindings {
            let _ = t.operator_of(&name);
            let values = match value {
                crate::server::uri_template::VarValue::One(s) => vec![s],
                crate::server::uri_template::VarValue::List(l) => l,
            };
            for v in values {
                let _ = crate::server::handlers::template_values::unsafe_value(&v);
                let _ = crate::SafePath::new(&v);
            }
        }
    }
}

/// Text as a template variable or prompt argument becomes typed values.
pub fn text(data: &[u8]) {
    use crate::server::handlers::text::Text;
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let one = Text::One(s);
    let _ = one.parse::<u64>();
    let _ = one.parse::<i8>();
    let _ = one.parse::<f64>();
    let _ = one.parse::<bool>();
    let _ = one.parse::<char>();
    let _ = one.parse::<String>();
    let _ = one.parse::<Vec<u32>>();
    let _ = one.parse::<Option<Vec<String>>>();
    let _ = one.parse::<serde_json::Value>();
    let _ = one.parse::<std::collections::HashMap<String, i64>>();
    let list: Vec<String> = s.split(',').map(str::to_string).collect();
    let _ = Text::List(&list).parse::<Vec<i32>>();
}

/// An SSE body as the client decodes it, cut into chunks at every `\u{0}` byte (so that the
/// fuzzer also chooses where chunks end), with a small event size limit.
#[cfg(feature = "client-http")]
pub fn sse(data: &[u8]) {
    let chunks: Vec<bytes::Bytes> = data
        .split(|&b| b == 0)
        .map(bytes::Bytes::copy_from_slice)
        .collect();
    crate::client::http::decode_events_for_fuzzing(chunks, 4096);
}

/// Raw bytes sent to the HTTP server (in this process, on a loopback port), as one
/// connection; the answer is read until the server closes it or a moment passes.
#[cfg(feature = "http-server")]
pub fn http(data: &[u8]) {
    use std::io::{Read, Write};
    use std::time::Duration;
    static ADDR: OnceLock<std::net::SocketAddr> = OnceLock::new();
    let addr = *ADDR.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("a runtime");
            rt.block_on(async move {
                let options = crate::HttpOptions {
                    port: 0,
                    body_read_timeout: Duration::from_millis(200),
                    idle_timeout: Duration::from_millis(200),
                    ..crate::HttpOptions::default()
                };
                let server = crate::HttpServer::bind(crate::Server::empty("fuzz"), options)
                    .await
                    .expect("binding a loopback port");
                tx.send(server.local_addr()).expect("the fuzzer waits");
                let _ = server.run_until(std::future::pending()).await;
            });
        });
        rx.recv().expect("the server's address")
    });
    let Ok(mut stream) = std::net::TcpStream::connect(addr) else {
        return;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let _ = stream.write_all(data);
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
}
