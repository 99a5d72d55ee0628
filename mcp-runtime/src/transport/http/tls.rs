//! TLS for the HTTP server (`--tls-cert`, `--tls-key`): rustls on ring, ALPN `h2` and
//! `http/1.1`, and the certificate read again when its files change.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio_rustls::TlsAcceptor;

use super::HttpOptions;
use crate::Error;

/// How often the certificate's files are looked at.
const RELOAD_POLL: Duration = Duration::from_secs(2);

/// The server's TLS: what accepts connections, and the task that reloads the certificate.
pub(crate) struct Tls {
    pub(crate) acceptor: TlsAcceptor,
    watch: tokio::task::JoinHandle<()>,
}

impl Drop for Tls {
    fn drop(&mut self) {
        self.watch.abort();
    }
}

/// The certificate served now.
#[derive(Debug)]
struct Current(RwLock<Arc<CertifiedKey>>);

impl ResolvesServerCert for Current {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(
            &self.0.read().unwrap_or_else(|e| e.into_inner()),
        ))
    }
}

/// The TLS of `options`, when `tls_cert` and `tls_key` are set.
pub(crate) fn configure(options: &HttpOptions) -> Result<Option<Tls>, Error> {
    let (cert, key) = match (&options.tls_cert, &options.tls_key) {
        (None, None) => return Ok(None),
        (Some(cert), Some(key)) => (cert.clone(), key.clone()),
        _ => {
            return Err(Error::InvalidOption(
                "TLS needs both --tls-cert and --tls-key (MCP_TLS_CERT, MCP_TLS_KEY)".into(),
            ));
        }
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let loaded = load(&cert, &key, &provider).map_err(Error::InvalidOption)?;
    let current = Arc::new(Current(RwLock::new(Arc::new(loaded))));
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::InvalidOption(format!("TLS: {e}")))?
        .with_no_client_auth()
        .with_cert_resolver(Arc::clone(&current) as Arc<dyn ResolvesServerCert>);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let watch = tokio::spawn(reload(cert, key, provider, current));
    Ok(Some(Tls {
        acceptor: TlsAcceptor::from(Arc::new(config)),
        watch,
    }))
}

/// Reads a certificate chain and its private key from PEM files.
fn load(cert: &Path, key: &Path, provider: &CryptoProvider) -> Result<CertifiedKey, String> {
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("cannot read the certificate `{}`: {e}", cert.display()))?;
    if chain.is_empty() {
        return Err(format!(
            "`{}` holds no PEM certificate (`-----BEGIN CERTIFICATE-----`)",
            cert.display()
        ));
    }
    let private = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("cannot read the private key `{}`: {e}", key.display()))?;
    CertifiedKey::from_der(chain, private, provider).map_err(|e| {
        format!(
            "the key `{}` does not go with the certificate `{}`: {e}",
            key.display(),
            cert.display()
        )
    })
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Polls the files' modification times; a new certificate is served from the next handshake.
/// A pair that does not load is logged and the old certificate kept.
async fn reload(cert: PathBuf, key: PathBuf, provider: Arc<CryptoProvider>, current: Arc<Current>) {
    let mut seen = (modified(&cert), modified(&key));
    loop {
        tokio::time::sleep(RELOAD_POLL).await;
        let now = (modified(&cert), modified(&key));
        if now == seen {
            continue;
        }
        seen = now;
        match load(&cert, &key, &provider) {
            Ok(loaded) => {
                *current.0.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(loaded);
                tracing::info!(cert = %cert.display(), "TLS certificate reloaded");
            }
            Err(e) => tracing::warn!("TLS certificate not reloaded, the old one is kept: {e}"),
        }
    }
}
