//! The simulator's certificate authority (generated at start or loaded from `--ca-dir`) and the
//! per-host leaf certificates and rustls server configurations used inside CONNECT tunnels.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, date_time_ymd,
};
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// Common name of the simulator's CA. A CA loaded from `--ca-dir` must have been written by the
/// simulator (this name, its key), because leaf certificates name it as issuer.
pub const CA_COMMON_NAME: &str = "tokworks-sim test CA";

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} holds no usable private key: {source}")]
    BadKey { path: PathBuf, source: rcgen::Error },
    #[error("{path} holds no PEM certificate")]
    BadCertificate { path: PathBuf },
    #[error("certificate generation failed: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("TLS configuration failed: {0}")]
    Rustls(#[from] rustls::Error),
}

/// The CA and a cache of per-host server configurations.
pub struct CertificateAuthority {
    issuer: Issuer<'static, KeyPair>,
    ca_pem: String,
    ca_der: CertificateDer<'static>,
    /// Where the CA came from / was written (`None`: in memory only).
    pub ca_path: Option<PathBuf>,
    configs: Mutex<HashMap<String, Arc<ServerConfig>>>,
}

impl std::fmt::Debug for CertificateAuthority {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("CertificateAuthority")
            .field("ca_path", &self.ca_path)
            .finish_non_exhaustive()
    }
}

fn ca_params() -> Result<CertificateParams, rcgen::Error> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, CA_COMMON_NAME);
    name.push(DnType::OrganizationName, "tokworks-sim");
    params.distinguished_name = name;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.not_before = date_time_ymd(2020, 1, 1);
    params.not_after = date_time_ymd(2049, 12, 31);
    Ok(params)
}

fn pem_to_der(pem: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    let body: String = pem
        .lines()
        .skip_while(|line| !line.starts_with("-----BEGIN CERTIFICATE-----"))
        .skip(1)
        .take_while(|line| !line.starts_with("-----END CERTIFICATE-----"))
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(body.trim())
        .ok()
}

impl CertificateAuthority {
    /// A fresh CA in memory.
    pub fn generate() -> Result<Self, TlsError> {
        let key = KeyPair::generate()?;
        let params = ca_params()?;
        let certificate = params.self_signed(&key)?;
        Ok(CertificateAuthority {
            ca_pem: certificate.pem(),
            ca_der: certificate.der().clone(),
            issuer: Issuer::new(params, key),
            ca_path: None,
            configs: Mutex::new(HashMap::new()),
        })
    }

    /// Loads `ca.pem` + `ca.key` from `dir`, or generates them there if the directory has neither.
    pub fn load_or_create(dir: &Path) -> Result<Self, TlsError> {
        let cert_path = dir.join("ca.pem");
        let key_path = dir.join("ca.key");
        if !cert_path.exists() && !key_path.exists() {
            std::fs::create_dir_all(dir).map_err(|source| TlsError::Write {
                path: dir.to_path_buf(),
                source,
            })?;
            let mut generated = CertificateAuthority::generate()?;
            std::fs::write(&key_path, generated.issuer.key().serialize_pem()).map_err(
                |source| TlsError::Write {
                    path: key_path.clone(),
                    source,
                },
            )?;
            std::fs::write(&cert_path, &generated.ca_pem).map_err(|source| TlsError::Write {
                path: cert_path.clone(),
                source,
            })?;
            generated.ca_path = Some(cert_path);
            return Ok(generated);
        }
        let read = |path: &Path| {
            std::fs::read_to_string(path).map_err(|source| TlsError::Read {
                path: path.to_path_buf(),
                source,
            })
        };
        let key_pem = read(&key_path)?;
        let ca_pem = read(&cert_path)?;
        let key = KeyPair::from_pem(&key_pem).map_err(|source| TlsError::BadKey {
            path: key_path.clone(),
            source,
        })?;
        let ca_der = pem_to_der(&ca_pem).ok_or_else(|| TlsError::BadCertificate {
            path: cert_path.clone(),
        })?;
        Ok(CertificateAuthority {
            issuer: Issuer::new(ca_params()?, key),
            ca_pem,
            ca_der: CertificateDer::from(ca_der),
            ca_path: Some(cert_path),
            configs: Mutex::new(HashMap::new()),
        })
    }

    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The rustls server configuration for `host` (leaf certificate with SAN = host, ALPN
    /// `http/1.1`), minted on first use and cached.
    pub fn server_config(&self, host: &str) -> Result<Arc<ServerConfig>, TlsError> {
        let mut configs = self
            .configs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(config) = configs.get(host) {
            return Ok(Arc::clone(config));
        }
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(vec![host.to_string()])?;
        params.distinguished_name = DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, host);
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.not_before = date_time_ymd(2020, 1, 1);
        params.not_after = date_time_ymd(2049, 12, 30);
        params.use_authority_key_identifier_extension = true;
        let leaf = params.signed_by(&key, &self.issuer)?;
        let private_key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(vec![leaf.der().clone(), self.ca_der.clone()], private_key)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let config = Arc::new(config);
        configs.insert(host.to_string(), Arc::clone(&config));
        Ok(config)
    }
}
