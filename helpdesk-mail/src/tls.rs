//! The TLS client for IMAP: rustls with the ring provider and the webpki roots (as reqwest
//! and lettre are built here), so no system certificate store is read.

use std::sync::Arc;

use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

/// A connector that verifies servers against the Mozilla roots.
pub(crate) fn connector() -> Result<TlsConnector, rustls::Error> {
    let roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}
