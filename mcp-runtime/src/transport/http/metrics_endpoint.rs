//! `/metrics` on an address of its own (`HttpOptions::metrics_addr`, `--metrics-addr`).

#[cfg(feature = "metrics")]
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

#[cfg(feature = "metrics")]
use tokio::net::TcpListener;

use super::HttpOptions;
use crate::Error;
use crate::server::ServerCore;

/// A bound metrics listener.
pub(crate) struct Endpoint {
    pub(crate) addr: SocketAddr,
    #[cfg(feature = "metrics")]
    listener: TcpListener,
    #[cfg(feature = "metrics")]
    metrics: crate::observe::Metrics,
}

/// Stops the listener when dropped.
pub(crate) struct Serving(tokio::task::AbortHandle);

impl Drop for Serving {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Binds `options.metrics_addr`, if set.
pub(crate) async fn bind(
    core: &Arc<ServerCore>,
    options: &HttpOptions,
) -> Result<Option<Endpoint>, Error> {
    let Some(addr) = &options.metrics_addr else {
        return Ok(None);
    };
    #[cfg(not(feature = "metrics"))]
    {
        let _ = (core, addr);
        Err(Error::FeatureDisabled {
            feature: "metrics",
            what: "`--metrics-addr`",
        })
    }
    #[cfg(feature = "metrics")]
    {
        let Some(metrics) = core.stack.metrics.clone() else {
            return Err(Error::InvalidOption(
                "`metrics_addr` is set but the server records no metrics: give it some with \
                 `Server::metrics`"
                    .into(),
            ));
        };
        let (host, port) = addr
            .rsplit_once(':')
            .and_then(|(h, p)| Some((h.trim_matches(['[', ']']), p.parse::<u16>().ok()?)))
            .ok_or_else(|| {
                Error::InvalidOption(format!(
                    "the metrics address `{addr}` is not `host:port` (e.g. `127.0.0.1:9464`)"
                ))
            })?;
        let listener = TcpListener::bind((host, port))
            .await
            .map_err(|error| Error::Bind {
                host: host.to_string(),
                port,
                error,
            })?;
        Ok(Some(Endpoint {
            addr: listener.local_addr()?,
            listener,
            metrics,
        }))
    }
}

impl Endpoint {
    /// Serves `/metrics` until the returned guard is dropped.
    pub(crate) fn serve(self) -> Serving {
        #[cfg(feature = "metrics")]
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = self.listener.accept().await else {
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                };
                let metrics = self.metrics.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        let response = if request.uri().path() == "/metrics" {
                            super::service::metrics_response(&metrics)
                        } else {
                            super::service::not_found()
                        };
                        async move { Ok::<_, Infallible>(response) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .timer(hyper_util::rt::TokioTimer::new())
                        .header_read_timeout(std::time::Duration::from_secs(30))
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        #[cfg(not(feature = "metrics"))]
        let task = tokio::spawn(async {});
        Serving(task.abort_handle())
    }
}
