//! The authorizer for terminals: a redirect URI on a loopback port, the authorization URL
//! printed (and opened in the browser when one can be started), and the browser's redirect
//! caught on that port.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::{Authorize, AuthorizeFuture, OAuthError};

/// The most of the browser's request that is read.
const REQUEST_LIMIT: usize = 16 * 1024;

/// Authorizes in the user's browser: listens on `127.0.0.1`, prints the authorization URL
/// on stderr, opens it with the platform's opener (`xdg-open`, `open`, `start`) unless told
/// not to, and waits (by default five minutes) for the browser to come back to
/// `http://127.0.0.1:PORT/callback`.
pub struct LoopbackAuthorizer {
    listener: Arc<tokio::sync::Mutex<TcpListener>>,
    port: u16,
    open_browser: bool,
    timeout: Duration,
}

impl LoopbackAuthorizer {
    /// Listens on a free loopback port.
    pub async fn bind() -> std::io::Result<LoopbackAuthorizer> {
        Self::bind_port(0).await
    }

    /// Listens on loopback port `port` (for an authorization server that registered a fixed
    /// redirect URI).
    pub async fn bind_port(port: u16) -> std::io::Result<LoopbackAuthorizer> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let port = listener.local_addr()?.port();
        Ok(LoopbackAuthorizer {
            listener: Arc::new(tokio::sync::Mutex::new(listener)),
            port,
            open_browser: true,
            timeout: Duration::from_secs(300),
        })
    }

    /// Whether to start the browser (otherwise the URL is only printed).
    pub fn open_browser(mut self, open: bool) -> Self {
        self.open_browser = open;
        self
    }

    /// How long to wait for the browser.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

impl Authorize for LoopbackAuthorizer {
    fn redirect_uri(&self) -> String {
        format!("http://127.0.0.1:{}/callback", self.port)
    }

    fn authorize(&self, url: Url) -> AuthorizeFuture {
        let listener = Arc::clone(&self.listener);
        let open = self.open_browser;
        let timeout = self.timeout;
        let base = self.redirect_uri();
        Box::pin(async move {
            eprintln!("To authorize, open this URL in your browser:\n\n  {url}\n");
            if open {
                open_in_browser(url.as_str());
            }
            let listener = listener.lock().await;
            let wait = async {
                loop {
                    let (mut stream, _) = listener
                        .accept()
                        .await
                        .map_err(|e| OAuthError::Authorization(e.to_string()))?;
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 2048];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < REQUEST_LIMIT {
                        match stream.read(&mut chunk).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let text = String::from_utf8_lossy(&buf);
                    let target = text
                        .lines()
                        .next()
                        .and_then(|l| l.strip_prefix("GET "))
                        .and_then(|l| l.split(' ').next())
                        .unwrap_or("");
                    let Ok(back) = Url::parse(&base).and_then(|b| b.join(target)) else {
                        continue;
                    };
                    if back.path() != "/callback" {
                        let _ = stream
                            .write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                            .await;
                        continue;
                    }
                    let page = "<!doctype html><title>Authorized</title><p>You can close this window and return to the terminal.</p>";
                    let _ = stream
                        .write_all(
                            format!(
                                "HTTP/1.1 200 OK\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{page}",
                                page.len()
                            )
                            .as_bytes(),
                        )
                        .await;
                    return Ok(back);
                }
            };
            tokio::time::timeout(timeout, wait).await.map_err(|_| {
                OAuthError::Authorization(format!(
                    "the browser did not come back within {} s",
                    timeout.as_secs()
                ))
            })?
        })
    }
}

/// Starts the platform's URL opener, without waiting for it; nothing happens when there is
/// none.
fn open_in_browser(url: &str) {
    let mut command = if cfg!(target_os = "macos") {
        std::process::Command::new("open")
    } else if cfg!(windows) {
        let mut c = std::process::Command::new("cmd");
        c.args(["/C", "start", ""]);
        c
    } else {
        std::process::Command::new("xdg-open")
    };
    command
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    if let Ok(mut child) = command.spawn() {
        // Reaped in the background so that no zombie is left.
        std::thread::spawn(move || {
            let _ = child.wait();
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_browser_redirect_is_caught_on_the_loopback_port() {
        let authorizer = LoopbackAuthorizer::bind()
            .await
            .unwrap()
            .open_browser(false);
        let redirect = authorizer.redirect_uri();
        assert!(redirect.starts_with("http://127.0.0.1:"), "{redirect}");
        let pending = authorizer.authorize(Url::parse("https://as.example/authorize").unwrap());
        let browser = tokio::spawn(async move {
            let u = Url::parse(&redirect).unwrap();
            let mut s = tokio::net::TcpStream::connect((u.host_str().unwrap(), u.port().unwrap()))
                .await
                .unwrap();
            s.write_all(b"GET /favicon.ico HTTP/1.1\r\nhost: x\r\n\r\n")
                .await
                .unwrap();
            let mut s = tokio::net::TcpStream::connect((u.host_str().unwrap(), u.port().unwrap()))
                .await
                .unwrap();
            s.write_all(b"GET /callback?code=c1&state=s1 HTTP/1.1\r\nhost: x\r\n\r\n")
                .await
                .unwrap();
            let mut answer = String::new();
            s.read_to_string(&mut answer).await.unwrap();
            answer
        });
        let back = pending.await.unwrap();
        assert_eq!(back.query(), Some("code=c1&state=s1"));
        assert!(browser.await.unwrap().starts_with("HTTP/1.1 200"));
    }
}
