//! TLS for the https tests, which the server does not speak itself: a CA and a certificate
//! for `localhost` and `127.0.0.1` made with rcgen, and a proxy that terminates TLS and
//! forwards each connection's bytes to a plain-HTTP server.
//!
//! Included with `#[path]` by the tests that need it (the workspace's and `mcp-cli`'s).

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::{self, pki_types};

/// A CA: its certificate in PEM, and what signs with it.
pub(crate) struct Ca {
    /// The CA's certificate, PEM-encoded: what a client trusts.
    pub pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl Ca {
    /// A new CA named `name`.
    pub(crate) fn new(name: &str) -> Ca {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key).unwrap();
        Ca {
            pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    /// A certificate for `localhost` and `127.0.0.1` this CA signs, and its private key, both
    /// PEM-encoded: what a server given `--tls-cert` and `--tls-key` reads.
    pub(crate) fn server_pem(&self) -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let mut params =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    /// TLS settings for a server on `localhost` and `127.0.0.1` whose certificate this CA
    /// signs, offering the `alpn` protocols.
    pub(crate) fn server_config(&self, alpn: &[&[u8]]) -> rustls::ServerConfig {
        let key = KeyPair::generate().unwrap();
        let mut params =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let der = pki_types::CertificateDer::from(cert.der().to_vec());
        let key = pki_types::PrivateKeyDer::Pkcs8(pki_types::PrivatePkcs8KeyDer::from(
            key.serialize_der(),
        ));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![der], key)
            .unwrap();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        config
    }
}

/// A TLS-terminating proxy on 127.0.0.1, stopped when dropped.
pub(crate) struct TlsProxy {
    /// `https://127.0.0.1:PORT`.
    pub origin: String,
    /// The CA of the proxy's certificate.
    pub ca: Ca,
    /// Connections that completed the TLS handshake.
    handshakes: Arc<AtomicUsize>,
    /// Connections whose handshake failed (e.g. the client refused the certificate).
    refused: Arc<AtomicUsize>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TlsProxy {
    /// Listens for TLS (HTTP/1.1 by ALPN) and forwards to the plain-HTTP server at `upstream`.
    pub(crate) fn start(upstream: SocketAddr) -> TlsProxy {
        let ca = Ca::new("mcp-runtime test CA");
        // Bytes are forwarded as they are, to a server that speaks HTTP/1.1.
        let acceptor = TlsAcceptor::from(Arc::new(ca.server_config(&[b"http/1.1"])));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let origin = format!("https://{}", listener.local_addr().unwrap());
        let handshakes = Arc::new(AtomicUsize::new(0));
        let refused = Arc::new(AtomicUsize::new(0));
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let (ok, bad) = (Arc::clone(&handshakes), Arc::clone(&refused));
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                loop {
                    let (tcp, _) = tokio::select! {
                        accepted = listener.accept() => match accepted {
                            Ok(a) => a,
                            Err(_) => continue,
                        },
                        _ = &mut stopped => return,
                    };
                    let acceptor = acceptor.clone();
                    let (ok, bad) = (Arc::clone(&ok), Arc::clone(&bad));
                    tokio::spawn(async move {
                        let mut tls = match acceptor.accept(tcp).await {
                            Ok(tls) => tls,
                            Err(_) => {
                                bad.fetch_add(1, Ordering::SeqCst);
                                return;
                            }
                        };
                        ok.fetch_add(1, Ordering::SeqCst);
                        let Ok(mut plain) = tokio::net::TcpStream::connect(upstream).await else {
                            return;
                        };
                        let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                    });
                }
            });
            runtime.shutdown_background();
        });
        TlsProxy {
            origin,
            ca,
            handshakes,
            refused,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// How many connections completed the TLS handshake.
    pub(crate) fn handshakes(&self) -> usize {
        self.handshakes.load(Ordering::SeqCst)
    }

    /// How many connections failed the TLS handshake.
    pub(crate) fn refused(&self) -> usize {
        self.refused.load(Ordering::SeqCst)
    }

    /// Writes the CA's certificate to a file under the system's temporary directory, for
    /// `--ca-cert`.
    pub(crate) fn ca_file(&self, name: &str) -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!(
            "mcp-runtime-test-{}-{name}.pem",
            std::process::id()
        ));
        std::fs::write(&path, &self.ca.pem).unwrap();
        path
    }
}

impl Drop for TlsProxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
