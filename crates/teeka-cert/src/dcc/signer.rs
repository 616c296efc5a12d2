//! The issuer's Document Signer Certificate (DSC) for EU DCCs: a self-signed X.509 v3
//! certificate for a P-256 key, limited by extended key usage to vaccination certificates. An EU
//! verifier names a signer by the first 8 bytes of the certificate's SHA-256, so the
//! certificate must be the same bytes every time it is made: every field comes from the key and
//! its creation time, and ECDSA signatures here are deterministic (RFC 6979).

use p256::ecdsa::SigningKey;
use p256::pkcs8::EncodePublicKey as _;

/// The DCC extended key usage for vaccination certificates.
pub const EKU_VACCINATION: &str = "1.3.6.1.4.1.1847.2021.1.2";
const OID_ECDSA_WITH_SHA256: &str = "1.2.840.10045.4.3.2";
const OID_COUNTRY: &str = "2.5.4.6";
const OID_ORGANISATION: &str = "2.5.4.10";
const OID_COMMON_NAME: &str = "2.5.4.3";
const OID_EXTENDED_KEY_USAGE: &str = "2.5.29.37";

/// One DER element: tag, length, content.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

fn sequence(parts: &[Vec<u8>]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

fn oid(dotted: &str) -> Vec<u8> {
    let arcs: Vec<u64> = dotted.split('.').filter_map(|a| a.parse().ok()).collect();
    let mut content = vec![(arcs[0] * 40 + arcs[1]) as u8];
    for &arc in &arcs[2..] {
        let mut groups = vec![(arc & 0x7f) as u8];
        let mut rest = arc >> 7;
        while rest > 0 {
            groups.push(0x80 | (rest & 0x7f) as u8);
            rest >>= 7;
        }
        content.extend(groups.into_iter().rev());
    }
    tlv(0x06, &content)
}

/// A positive INTEGER from big-endian bytes.
fn integer(bytes: &[u8]) -> Vec<u8> {
    let trimmed: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
    let mut content = if trimmed.is_empty() { vec![0] } else { trimmed };
    if content[0] & 0x80 != 0 {
        content.insert(0, 0);
    }
    tlv(0x02, &content)
}

/// UTCTime up to 2049, GeneralizedTime from 2050 (RFC 5280 4.1.2.5).
fn time(secs: i64) -> Vec<u8> {
    let t =
        time::OffsetDateTime::from_unix_timestamp(secs).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let rest = format!(
        "{:02}{:02}{:02}{:02}{:02}Z",
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    if t.year() < 2050 {
        tlv(0x17, format!("{:02}{rest}", t.year() % 100).as_bytes())
    } else {
        tlv(0x18, format!("{:04}{rest}", t.year()).as_bytes())
    }
}

fn name(common_name: &str) -> Vec<u8> {
    let attribute = |id: &str, tag: u8, value: &str| {
        tlv(0x31, &sequence(&[oid(id), tlv(tag, value.as_bytes())]))
    };
    sequence(&[
        attribute(OID_COUNTRY, 0x13, "IN"),
        attribute(OID_ORGANISATION, 0x0c, "Teeka"),
        attribute(OID_COMMON_NAME, 0x0c, common_name),
    ])
}

/// The DSC for `key`, valid from `not_before` for `valid_secs` (unix seconds), named
/// `Teeka DSC <label>`; DER.
///
/// # Errors
/// When the public key cannot be encoded (never, for a valid key).
pub fn signer_certificate(
    key: &SigningKey,
    label: &str,
    not_before: i64,
    valid_secs: i64,
) -> Result<Vec<u8>, String> {
    use p256::ecdsa::signature::Signer as _;
    use sha2::Digest as _;
    let spki = key
        .verifying_key()
        .to_public_key_der()
        .map_err(|e| e.to_string())?;
    // The serial number: 16 bytes of a hash of the public key (unique per key, never negative).
    let mut serial = sha2::Sha256::digest(spki.as_bytes())[..16].to_vec();
    serial[0] &= 0x7f;
    let algorithm = sequence(&[oid(OID_ECDSA_WITH_SHA256)]);
    let subject = name(&format!("Teeka DSC {label}"));
    let eku = sequence(&[oid(EKU_VACCINATION)]);
    let extensions = tlv(
        0xa3,
        &sequence(&[sequence(&[oid(OID_EXTENDED_KEY_USAGE), tlv(0x04, &eku)])]),
    );
    let tbs = sequence(&[
        tlv(0xa0, &integer(&[2])),
        integer(&serial),
        algorithm.clone(),
        subject.clone(),
        sequence(&[
            time(not_before),
            time(not_before.saturating_add(valid_secs)),
        ]),
        subject,
        spki.as_bytes().to_vec(),
        extensions,
    ]);
    let signature: p256::ecdsa::DerSignature = key.sign(&tbs);
    let mut bits = vec![0u8];
    bits.extend_from_slice(signature.as_bytes());
    Ok(sequence(&[tbs, algorithm, tlv(0x03, &bits)]))
}

/// DER as a PEM `CERTIFICATE` block.
#[must_use]
pub fn to_pem(der: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trust::{TrustList, X509Info};

    #[test]
    fn the_certificate_parses_names_its_usage_and_is_the_same_every_time() {
        use p256::elliptic_curve::Generate as _;
        let key = SigningKey::try_generate().expect("key");
        let start = 1_795_000_000;
        let der = signer_certificate(&key, "t0123", start, 5 * 365 * 86_400).expect("dsc");
        assert_eq!(
            der,
            signer_certificate(&key, "t0123", start, 5 * 365 * 86_400).expect("dsc")
        );
        let info = X509Info::from_der(&der).expect("parses");
        assert_eq!(info.extended_key_usage, vec![EKU_VACCINATION.to_owned()]);
        assert_eq!(info.not_before.unix_timestamp(), start);
        assert!(info.subject.contains("Teeka DSC t0123"), "{}", info.subject);
        let mut trust = TrustList::new();
        trust.add_pem(&to_pem(&der)).expect("PEM loads");
        assert_eq!(trust.find_by_kid(&crate::trust::dcc_kid(&der)).len(), 1);
        // Far dates use GeneralizedTime.
        let later = signer_certificate(&key, "t0123", 2_600_000_000, 86_400).expect("dsc");
        assert_eq!(
            X509Info::from_der(&later)
                .expect("parses")
                .not_before
                .unix_timestamp(),
            2_600_000_000
        );
    }
}
