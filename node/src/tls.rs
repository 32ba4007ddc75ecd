//! HTTPS for the node: the server side (`serve --tls-cert --tls-key`) and the extra trust
//! anchors of its outgoing federation requests (`serve --peer-ca`).
//!
//! The node terminates TLS itself, so a member needs no proxy in front to serve its
//! credentials' context, status lists and VC-API over HTTPS. TLS 1.2 and 1.3 with rustls'
//! safe defaults (the `ring` provider the HTTP client already uses), HTTP/1.1 only (the
//! server speaks nothing else). The handshake happens on the server thread that serves the
//! connection, within the connection's header-read timeout (see the server module).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Certificate and key files are read up to this size: a certificate chain is a few
/// kilobytes; a larger file is not one.
const MAX_PEM_FILE: u64 = 1 << 20;

/// Why the node's TLS configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What failed.
        #[source]
        source: std::io::Error,
    },
    /// A file is larger than any PEM certificate chain or key.
    #[error("{path} is larger than {MAX_PEM_FILE} bytes; it is not a PEM certificate or key")]
    TooLarge {
        /// The file.
        path: PathBuf,
    },
    /// A file is not PEM, or holds no item of the kind asked for.
    #[error("{path} holds no PEM {kind}: {reason}")]
    NoPem {
        /// The file.
        path: PathBuf,
        /// "certificate" or "private key".
        kind: &'static str,
        /// The parser's words.
        reason: String,
    },
    /// rustls refused the certificate chain and key (e.g. the key does not match the
    /// certificate, or its algorithm is not supported).
    #[error("the certificate {cert} and key {key} cannot serve TLS: {source}")]
    Refused {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// What rustls said.
        #[source]
        source: rustls::Error,
    },
}

/// The TLS side of a listening node: what the server wraps each connection in.
#[derive(Clone)]
pub struct ServerTls {
    acceptor: tokio_rustls::TlsAcceptor,
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerTls")
    }
}

impl ServerTls {
    /// Loads the PEM certificate chain (leaf first) at `cert` and the PEM private key
    /// (PKCS#8, PKCS#1 or SEC1) at `key`.
    ///
    /// # Errors
    /// A file cannot be read or parsed, or rustls refuses the pair ([`TlsError`]).
    pub fn load(cert: &Path, key: &Path) -> Result<ServerTls, TlsError> {
        let chain = certificates(cert)?;
        let key_pem = read_limited(key)?;
        let private_key =
            PrivateKeyDer::from_pem_slice(&key_pem).map_err(|error| TlsError::NoPem {
                path: key.to_owned(),
                kind: "private key",
                reason: error.to_string(),
            })?;
        let refused = |source| TlsError::Refused {
            cert: cert.to_owned(),
            key: key.to_owned(),
            source,
        };
        let mut config =
            ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .map_err(refused)?
                .with_no_client_auth()
                .with_single_cert(chain, private_key)
                .map_err(refused)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(ServerTls {
            acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        })
    }

    /// The acceptor that performs a connection's handshake.
    pub fn acceptor(&self) -> &tokio_rustls::TlsAcceptor {
        &self.acceptor
    }
}

/// The certificates of the PEM file at `path` (at least one).
///
/// # Errors
/// The file cannot be read, is not PEM or holds no certificate.
pub fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read_limited(path)?;
    let no_pem = |reason: String| TlsError::NoPem {
        path: path.to_owned(),
        kind: "certificate",
        reason,
    };
    let chain = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| no_pem(error.to_string()))?;
    if chain.is_empty() {
        return Err(no_pem("no CERTIFICATE section".to_owned()));
    }
    Ok(chain)
}

/// The extra trust anchors of `--peer-ca`, as the HTTP client takes them: every
/// certificate of the PEM file at `path`.
///
/// # Errors
/// The file cannot be read, is not PEM or holds no certificate.
pub fn peer_roots(path: &Path) -> Result<Vec<reqwest::Certificate>, TlsError> {
    certificates(path)?
        .into_iter()
        .map(|der| {
            reqwest::Certificate::from_der(&der).map_err(|error| TlsError::NoPem {
                path: path.to_owned(),
                kind: "certificate",
                reason: error.to_string(),
            })
        })
        .collect()
}

fn read_limited(path: &Path) -> Result<Vec<u8>, TlsError> {
    let read = |source| TlsError::Read {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read)?;
    let mut bytes = Vec::new();
    file.take(MAX_PEM_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(read)?;
    if bytes.len() as u64 > MAX_PEM_FILE {
        return Err(TlsError::TooLarge {
            path: path.to_owned(),
        });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_without_pem_is_refused_by_name() {
        let dir = tempfile::tempdir().expect("temp dir");
        let cert = dir.path().join("cert.pem");
        std::fs::write(&cert, "not a certificate").expect("write");
        let error = ServerTls::load(&cert, &cert).expect_err("no PEM");
        assert!(
            matches!(
                &error,
                TlsError::NoPem {
                    kind: "certificate",
                    ..
                }
            ),
            "{error}"
        );
        let missing = dir.path().join("missing.pem");
        let error = ServerTls::load(&missing, &missing).expect_err("missing");
        assert!(matches!(error, TlsError::Read { .. }), "{error}");
    }

    #[test]
    fn a_huge_file_is_not_read_whole() {
        let dir = tempfile::tempdir().expect("temp dir");
        let cert = dir.path().join("cert.pem");
        std::fs::write(&cert, vec![b'a'; (MAX_PEM_FILE + 10) as usize]).expect("write");
        let error = certificates(&cert).expect_err("too large");
        assert!(matches!(error, TlsError::TooLarge { .. }), "{error}");
    }
}
