//! Serving HTTPS directly: rustls (AWS-LC) with the certificate and key files, reloaded on
//! SIGHUP without dropping connections (new handshakes get the new pair; a pair that does not
//! load is reported and the old one kept).

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use axum::Router;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A certificate chain and its key as a rustls server configuration.
pub fn load(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, String> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| format!("{}: {e}", cert.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: {e}", cert.display()))?;
    if chain.is_empty() {
        return Err(format!("{} holds no certificate", cert.display()));
    }
    let private = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("{}: {e}", key.display()))?;
    let mut config = ServerConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(|e| format!("{} and {}: {e}", cert.display(), key.display()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Serves `app` over TLS on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    cert: PathBuf,
    key: PathBuf,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), String> {
    let current = Arc::new(RwLock::new(load(&cert, &key)?));
    #[cfg(unix)]
    {
        let current = current.clone();
        let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            .map_err(|e| format!("listening for SIGHUP: {e}"))?;
        tokio::spawn(async move {
            while hangup.recv().await.is_some() {
                match load(&cert, &key) {
                    Ok(config) => {
                        *current.write().unwrap_or_else(|e| e.into_inner()) = config;
                        tracing::info!("TLS certificate reloaded");
                    }
                    Err(e) => tracing::error!(error = %e, "TLS certificate not reloaded; the old one stays"),
                }
            }
        });
    }
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
            },
            () = &mut shutdown => return Ok(()),
        };
        let config = current.read().unwrap_or_else(|e| e.into_inner()).clone();
        let app = app.clone().layer(axum::Extension(axum::extract::ConnectInfo(peer)));
        tokio::spawn(async move {
            let acceptor = tokio_rustls::TlsAcceptor::from(config);
            let Ok(tls) = acceptor.accept(stream).await else { return };
            let service = TowerToHyperService::new(app);
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tls), service)
                .with_upgrades()
                .await;
        });
    }
}
