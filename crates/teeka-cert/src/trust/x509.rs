//! The parts of an X.509 signer certificate that verifiers need: public key, validity period,
//! extended key usage OIDs and subject alternative names.

use time::OffsetDateTime;
use x509_cert::Certificate;
use x509_cert::der::{Decode as _, Encode as _};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{ExtendedKeyUsage, SubjectAltName};

use super::TrustError;

/// Signer-certificate details kept with a trusted key.
#[derive(Debug, Clone)]
pub struct X509Info {
    /// Start of the certificate's validity.
    pub not_before: OffsetDateTime,
    /// End of the certificate's validity.
    pub not_after: OffsetDateTime,
    /// Extended key usage OIDs in dotted form (empty when the extension is absent).
    pub extended_key_usage: Vec<String>,
    /// Subject alternative names of URI type.
    pub san_uris: Vec<String>,
    /// Subject alternative names of DNS type.
    pub san_dns: Vec<String>,
    /// The subject distinguished name as text.
    pub subject: String,
    /// DER of the SubjectPublicKeyInfo.
    pub spki_der: Vec<u8>,
}

impl X509Info {
    /// Reads the details from a DER certificate.
    pub fn from_der(der: &[u8]) -> Result<Self, TrustError> {
        let cert =
            Certificate::from_der(der).map_err(|e| TrustError::BadKey(format!("X.509: {e}")))?;
        let tbs = cert.tbs_certificate();
        let validity = tbs.validity();
        let spki_der = tbs
            .subject_public_key_info()
            .to_der()
            .map_err(|e| TrustError::BadKey(format!("X.509 key: {e}")))?;
        let extended_key_usage = match tbs.get_extension::<ExtendedKeyUsage>() {
            Ok(Some((_, eku))) => eku.0.iter().map(|oid| oid.to_string()).collect(),
            Ok(None) => Vec::new(),
            Err(e) => return Err(TrustError::BadKey(format!("X.509 EKU: {e}"))),
        };
        let (san_uris, san_dns) = subject_alt_names(tbs)?;
        Ok(Self {
            not_before: to_offset(validity.not_before.to_unix_duration())?,
            not_after: to_offset(validity.not_after.to_unix_duration())?,
            extended_key_usage,
            san_uris,
            san_dns,
            subject: tbs.subject().to_string(),
            spki_der,
        })
    }

    /// Whether `at` lies within the certificate's validity period.
    pub fn is_valid_at(&self, at: OffsetDateTime) -> bool {
        self.not_before <= at && at <= self.not_after
    }
}

type Names = (Vec<String>, Vec<String>);

fn subject_alt_names(tbs: &x509_cert::TbsCertificate) -> Result<Names, TrustError> {
    let mut uris = Vec::new();
    let mut dns = Vec::new();
    let san = tbs
        .get_extension::<SubjectAltName>()
        .map_err(|e| TrustError::BadKey(format!("X.509 SAN: {e}")))?;
    for name in san.map(|(_, s)| s.0).unwrap_or_default() {
        match name {
            GeneralName::UniformResourceIdentifier(uri) => uris.push(uri.to_string()),
            GeneralName::DnsName(name) => dns.push(name.to_string()),
            _ => {}
        }
    }
    Ok((uris, dns))
}

fn to_offset(since_epoch: std::time::Duration) -> Result<OffsetDateTime, TrustError> {
    let secs = i64::try_from(since_epoch.as_secs())
        .map_err(|_| TrustError::BadKey("X.509 time out of range".into()))?;
    OffsetDateTime::from_unix_timestamp(secs)
        .map_err(|e| TrustError::BadKey(format!("X.509 time: {e}")))
}
