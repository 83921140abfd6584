//! TLS for the connections pointcast makes (the terminal client's HTTPS, SMTP;
//! PostgreSQL's TLS is sqlx's own, driven by `sslmode` in the URL).
//!
//! Everything uses rustls with the `ring` provider: no system OpenSSL to match at
//! run time and no C/cmake build. Trust is the Mozilla root set (webpki-roots),
//! plus an optional PEM file of private CAs, so a self-hosted endpoint with its
//! own CA works without touching the system store.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

/// Makes `ring` the process-wide rustls provider. reqwest is built without a
/// provider of its own (its default, aws-lc-rs, needs cmake) and panics when a
/// client is built before one is installed, so the server, the terminal client
/// and the tests call this first. Installing twice is harmless.
pub fn install_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The certificates in a PEM file (`--ca-file`, `--mail-ca-file`).
pub fn read_ca_file(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .with_context(|| format!("cannot read the CA file {}", path.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("the CA file {} is not valid PEM", path.display()))?;
    if certs.is_empty() {
        anyhow::bail!("the CA file {} holds no certificate", path.display());
    }
    Ok(certs)
}

/// A client config trusting the Mozilla roots and `extra` CAs.
pub fn client_config(extra: &[CertificateDer<'static>]) -> anyhow::Result<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    for cert in extra {
        roots
            .add(cert.clone())
            .context("a certificate in the CA file cannot be used as a CA")?;
    }
    Ok(rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .context("TLS protocol versions")?
    .with_root_certificates(roots)
    .with_no_client_auth())
}

/// The certificate problem behind an error, if that is what it is, in words
/// (e.g. "invalid peer certificate: UnknownIssuer"). Walks the source chain and
/// into `io::Error`s, whose `source()` skips the error they wrap.
pub fn certificate_problem(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cur = Some(err);
    while let Some(e) = cur {
        if let Some(
            r @ (rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented),
        ) = e.downcast_ref::<rustls::Error>()
        {
            return Some(r.to_string());
        }
        if let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            && let Some(p) = certificate_problem(inner)
        {
            return Some(p);
        }
        cur = e.source();
    }
    None
}
