//! TLS material: the self-signed certificate made on first start, an installed site
//! certificate, SPKI pins for agents, and a certificate resolver that SIGHUP can reload.
//!
//! Files live in `<data_dir>/tls/`: `cert.pem` (0644), `key.pem` (0600) and, after an
//! installation replaced a certificate, `previous-cert.pem`, whose pin is still printed so that
//! agents can be given both pins during a rotation.

use std::fs;
use std::io::Write;
use std::net::IpAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use base64::Engine;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// Why TLS material could not be made, read or installed.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A certificate or key could not be parsed or does not fit.
    #[error("{0}")]
    Invalid(String),
    /// rcgen could not make the certificate.
    #[error("cannot generate the certificate: {0}")]
    Generate(String),
}

/// Paths of the TLS files in a data directory.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// PEM certificate chain, leaf first.
    pub cert: PathBuf,
    /// PEM private key.
    pub key: PathBuf,
    /// The certificate replaced by the last installation, if any.
    pub previous_cert: PathBuf,
}

impl TlsFiles {
    /// The TLS file locations inside `data_dir`.
    pub fn in_dir(data_dir: &Path) -> Self {
        let dir = data_dir.join("tls");
        TlsFiles {
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
            previous_cert: dir.join("previous-cert.pem"),
        }
    }

    fn dir(&self) -> &Path {
        self.cert.parent().unwrap_or(Path::new("."))
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> TlsError + '_ {
    move |source| TlsError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Makes an ECDSA P-256 self-signed certificate if none exists. Returns true if it made one.
///
/// The subject alternative names are the host name, `localhost` and every local address, so
/// that browsers and agents on the local network can reach the appliance by any of them.
pub fn ensure_self_signed(files: &TlsFiles) -> Result<bool, TlsError> {
    if files.cert.exists() && files.key.exists() {
        return Ok(false);
    }
    let dir = files.dir();
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    let (cert_pem, key_pem) = generate_self_signed(&host_name(), &local_addresses())?;
    write_file(&files.key, key_pem.as_bytes(), 0o600)?;
    write_file(&files.cert, cert_pem.as_bytes(), 0o644)?;
    Ok(true)
}

/// Generates a self-signed certificate and key (both PEM) for `host` and `addresses`.
pub fn generate_self_signed(
    host: &str,
    addresses: &[IpAddr],
) -> Result<(String, String), TlsError> {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
        .map_err(|e| TlsError::Generate(e.to_string()))?;
    let mut names = vec!["localhost".to_string()];
    if !host.is_empty() && host != "localhost" {
        names.push(host.to_string());
    }
    let mut params =
        rcgen::CertificateParams::new(names).map_err(|e| TlsError::Generate(e.to_string()))?;
    for addr in addresses {
        params
            .subject_alt_names
            .push(rcgen::SanType::IpAddress(*addr));
    }
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(
        rcgen::DnType::CommonName,
        format!("Lantern appliance {host}"),
    );
    dn.push(rcgen::DnType::OrganizationName, "Lantern");
    params.distinguished_name = dn;
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    // Ten years: the certificate is pinned by agents, so rotating it is a deliberate act, not
    // something an expiry should force on an air-gapped site.
    params.not_after = now + time::Duration::days(3650);
    let cert = params
        .self_signed(&key)
        .map_err(|e| TlsError::Generate(e.to_string()))?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// Installs the site's own certificate chain and key after checking that they parse and
/// belong together; the replaced certificate is kept so its pin stays printable.
pub fn install(files: &TlsFiles, cert_src: &Path, key_src: &Path) -> Result<(), TlsError> {
    let cert_pem = fs::read(cert_src).map_err(io_err(cert_src))?;
    let key_pem = fs::read(key_src).map_err(io_err(key_src))?;
    certified_key_from_pem(&cert_pem, &key_pem)?;
    let dir = files.dir();
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    if files.cert.exists() {
        fs::copy(&files.cert, &files.previous_cert).map_err(io_err(&files.previous_cert))?;
    }
    write_file(&files.key, &key_pem, 0o600)?;
    write_file(&files.cert, &cert_pem, 0o644)?;
    Ok(())
}

/// Writes `bytes` to `path` atomically (temporary file + rename) with `mode`.
fn write_file(path: &Path, bytes: &[u8], mode: u32) -> Result<(), TlsError> {
    let tmp = path.with_extension("tmp");
    let _ = fs::remove_file(&tmp);
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)
        .map_err(io_err(&tmp))?;
    f.write_all(bytes).map_err(io_err(&tmp))?;
    f.sync_all().map_err(io_err(&tmp))?;
    fs::rename(&tmp, path).map_err(io_err(path))
}

/// Reads the certificate and key in `files` into a rustls signing key.
pub fn load(files: &TlsFiles) -> Result<CertifiedKey, TlsError> {
    let cert_pem = fs::read(&files.cert).map_err(io_err(&files.cert))?;
    let key_pem = fs::read(&files.key).map_err(io_err(&files.key))?;
    certified_key_from_pem(&cert_pem, &key_pem)
}

fn certified_key_from_pem(cert_pem: &[u8], key_pem: &[u8]) -> Result<CertifiedKey, TlsError> {
    let chain = certs_from_pem(cert_pem)?;
    let key = PrivateKeyDer::from_pem_slice(key_pem)
        .map_err(|e| TlsError::Invalid(format!("the key is not a PEM private key: {e}")))?;
    let signer = rustls::crypto::ring::sign::any_supported_type(&key)
        .map_err(|e| TlsError::Invalid(format!("unsupported private key: {e}")))?;
    let certified = CertifiedKey::new(chain, signer);
    certified.keys_match().map_err(|e| {
        TlsError::Invalid(format!("the key does not belong to the certificate: {e}"))
    })?;
    Ok(certified)
}

fn certs_from_pem(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let chain: Vec<_> = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<_, _>>()
        .map_err(|e| TlsError::Invalid(format!("the certificate is not PEM: {e}")))?;
    if chain.is_empty() {
        return Err(TlsError::Invalid("no certificate in the file".into()));
    }
    Ok(chain)
}

/// The pins agents accept: the current certificate's first, then the previous one's.
pub fn pins(files: &TlsFiles) -> Result<Vec<String>, TlsError> {
    let mut out = Vec::new();
    for path in [&files.cert, &files.previous_cert] {
        if !path.exists() {
            continue;
        }
        let pem = fs::read(path).map_err(io_err(path))?;
        let chain = certs_from_pem(&pem)?;
        if let Some(leaf) = chain.first() {
            let pin = spki_pin(leaf)?;
            if !out.contains(&pin) {
                out.push(pin);
            }
        }
    }
    Ok(out)
}

/// `sha256/BASE64` of the certificate's SubjectPublicKeyInfo, as agents check it.
pub fn spki_pin(cert: &CertificateDer<'_>) -> Result<String, TlsError> {
    let spki = subject_public_key_info(cert.as_ref())
        .ok_or_else(|| TlsError::Invalid("cannot find the public key in the certificate".into()))?;
    let digest = ring::digest::digest(&ring::digest::SHA256, spki);
    Ok(format!(
        "sha256/{}",
        base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
    ))
}

/// One DER element: its tag, its content and the whole encoding (header included).
struct Tlv<'a> {
    tag: u8,
    content: &'a [u8],
    whole: &'a [u8],
}

/// Reads one DER element from the front of `input`; returns it and the rest.
fn read_tlv(input: &[u8]) -> Option<(Tlv<'_>, &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let (bytes, after) = rest.split_at_checked(n)?;
        rest = after;
        bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b))
    };
    let header = input.len() - rest.len();
    let (content, after) = rest.split_at_checked(len)?;
    let whole = input.get(..header + len)?;
    Some((
        Tlv {
            tag,
            content,
            whole,
        },
        after,
    ))
}

/// Walks Certificate → TBSCertificate to the SubjectPublicKeyInfo element (RFC 5280 §4.1).
fn subject_public_key_info(cert: &[u8]) -> Option<&[u8]> {
    const SEQUENCE: u8 = 0x30;
    const VERSION_TAG: u8 = 0xa0;
    let (certificate, _) = read_tlv(cert)?;
    let (tbs, _) = read_tlv(certificate.content)?;
    if certificate.tag != SEQUENCE || tbs.tag != SEQUENCE {
        return None;
    }
    let mut rest = tbs.content;
    let (first, after) = read_tlv(rest)?;
    if first.tag == VERSION_TAG {
        rest = after;
    }
    // serialNumber, signature, issuer, validity, subject, then subjectPublicKeyInfo.
    for _ in 0..5 {
        let (_, after) = read_tlv(rest)?;
        rest = after;
    }
    let (spki, _) = read_tlv(rest)?;
    (spki.tag == SEQUENCE).then_some(spki.whole)
}

/// The machine's host name, or `localhost` when it has none.
pub fn host_name() -> String {
    sysinfo::System::host_name()
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// Every address of every local interface, loopback included.
pub fn local_addresses() -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = match sysinfo::Networks::new_with_refreshed_list() {
        Ok(networks) => networks
            .values()
            .flat_map(|data| data.ip_networks().iter().map(|n| n.addr))
            .collect(),
        Err(e) => {
            tracing::warn!("cannot list the network interfaces: {e}");
            Vec::new()
        }
    };
    for loopback in [
        IpAddr::from([127, 0, 0, 1]),
        IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1]),
    ] {
        if !out.contains(&loopback) {
            out.push(loopback);
        }
    }
    out.sort();
    out.dedup();
    out
}

/// A certificate resolver whose certificate can be swapped while connections are served.
///
/// It keeps the pins of what it serves beside the key: pages and audit events show them, and
/// reading and hashing the certificate files once per page was work for nothing (they change
/// only on a reload).
#[derive(Debug)]
pub struct ReloadableCert {
    current: RwLock<Arc<Served>>,
}

/// What a load read: the key being served and the pins agents should accept with it.
#[derive(Debug)]
struct Served {
    key: Arc<CertifiedKey>,
    pins: Vec<String>,
}

impl Served {
    fn read(files: &TlsFiles) -> Result<Served, TlsError> {
        let key = Arc::new(load(files)?);
        // As before the pins were kept: a previous certificate that cannot be read leaves
        // the list empty rather than refusing the current certificate.
        let pins = pins(files).unwrap_or_default();
        Ok(Served { key, pins })
    }
}

impl ReloadableCert {
    /// Reads the certificate, its key and the pins from `files`.
    pub fn load(files: &TlsFiles) -> Result<Self, TlsError> {
        Ok(ReloadableCert {
            current: RwLock::new(Arc::new(Served::read(files)?)),
        })
    }
    /// Re-reads `files`; on any error the running certificate stays in place.
    pub fn reload(&self, files: &TlsFiles) -> Result<(), TlsError> {
        let served = Arc::new(Served::read(files)?);
        match self.current.write() {
            Ok(mut slot) => *slot = served,
            Err(poisoned) => *poisoned.into_inner() = served,
        }
        Ok(())
    }
    /// The pins of the certificate being served (current first, then the previous one).
    pub fn pins(&self) -> Vec<String> {
        self.served().pins.clone()
    }
    fn served(&self) -> Arc<Served> {
        match self.current.read() {
            Ok(k) => Arc::clone(&k),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }
}

impl ResolvesServerCert for ReloadableCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(&self.served().key))
    }
}

/// The rustls server configuration: ring provider, TLS 1.3 and 1.2 only, HTTP/2 and HTTP/1.1.
pub fn server_config(resolver: Arc<ReloadableCert>) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| TlsError::Invalid(e.to_string()))?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_certificate_loads_and_pins_its_public_key() {
        let dir = tempfile::tempdir().unwrap();
        let files = TlsFiles::in_dir(dir.path());
        assert!(ensure_self_signed(&files).unwrap());
        assert!(!ensure_self_signed(&files).unwrap(), "made only once");
        let key = load(&files).unwrap();
        let leaf = key.cert.first().unwrap();
        let pin = spki_pin(leaf).unwrap();
        // The pin is over the SPKI that rcgen reports for the key pair.
        let key_pem = fs::read_to_string(&files.key).unwrap();
        let pair = rcgen::KeyPair::from_pem(&key_pem).unwrap();
        use rcgen::PublicKeyData;
        let expected = ring::digest::digest(&ring::digest::SHA256, &pair.subject_public_key_info());
        let expected = base64::engine::general_purpose::STANDARD.encode(expected.as_ref());
        assert_eq!(pin, format!("sha256/{expected}"));
        assert_eq!(pins(&files).unwrap(), vec![pin]);
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&files.key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn install_checks_the_pair_and_keeps_the_previous_pin() {
        let dir = tempfile::tempdir().unwrap();
        let files = TlsFiles::in_dir(dir.path());
        ensure_self_signed(&files).unwrap();
        let old_pin = pins(&files).unwrap().remove(0);
        let (cert, key) = generate_self_signed("site.example", &[]).unwrap();
        let (_, other_key) = generate_self_signed("other", &[]).unwrap();
        let src = tempfile::tempdir().unwrap();
        let (c, k, bad) = (
            src.path().join("c.pem"),
            src.path().join("k.pem"),
            src.path().join("bad.pem"),
        );
        fs::write(&c, cert).unwrap();
        fs::write(&k, key).unwrap();
        fs::write(&bad, other_key).unwrap();
        let err = install(&files, &c, &bad).unwrap_err();
        assert!(err.to_string().contains("does not belong"), "{err}");
        assert_eq!(
            pins(&files).unwrap(),
            vec![old_pin.clone()],
            "nothing changed"
        );
        install(&files, &c, &k).unwrap();
        let now = pins(&files).unwrap();
        assert_eq!(now.len(), 2);
        assert_eq!(now.get(1), Some(&old_pin));
    }

    #[test]
    fn the_served_pins_change_on_reload_only() {
        let dir = tempfile::tempdir().unwrap();
        let files = TlsFiles::in_dir(dir.path());
        ensure_self_signed(&files).unwrap();
        let served = ReloadableCert::load(&files).unwrap();
        let old = pins(&files).unwrap();
        assert_eq!(served.pins(), old);
        let (cert, key) = generate_self_signed("site.example", &[]).unwrap();
        let src = tempfile::tempdir().unwrap();
        let (c, k) = (src.path().join("c.pem"), src.path().join("k.pem"));
        fs::write(&c, cert).unwrap();
        fs::write(&k, key).unwrap();
        install(&files, &c, &k).unwrap();
        assert_eq!(served.pins(), old, "the old certificate is still served");
        served.reload(&files).unwrap();
        let now = served.pins();
        assert_eq!(now, pins(&files).unwrap());
        assert_eq!((now.len(), now.get(1)), (2, old.first()));
        // A reload that fails keeps what is served, pins included.
        fs::write(&files.cert, "not a certificate").unwrap();
        assert!(served.reload(&files).is_err());
        assert_eq!(served.pins(), now);
    }

    #[test]
    fn der_walker_rejects_garbage() {
        assert!(subject_public_key_info(&[]).is_none());
        assert!(subject_public_key_info(&[0x30, 0x82, 0xff]).is_none());
        assert!(subject_public_key_info(&[0x30, 0x03, 0x30, 0x01, 0x00]).is_none());
    }
}
