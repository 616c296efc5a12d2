//! Runs every EU DCC test case of the dgc-testdata fixtures step by step (each EXPECTED* key)
//! against the decode/verify chain, plus schema, issuer round-trip and revocation-hash tests.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use teeka_cert::dcc;
use teeka_cert::trust::TrustList;
use time::OffsetDateTime;

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/fixtures/certificates/eu-dcc"
);

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).expect("read fixture");
    serde_json::from_str(&text).expect("fixture is JSON")
}

fn case_files() -> Vec<(String, PathBuf)> {
    let mut files = Vec::new();
    let mut push_dir = |country: &str, dir: PathBuf| {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
            .expect("fixture dir")
            .map(|e| e.expect("dir entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        entries.sort();
        files.extend(entries.into_iter().map(|p| (country.to_owned(), p)));
    };
    push_dir("common", Path::new(FIXTURES).join("common"));
    let mut countries: Vec<PathBuf> = std::fs::read_dir(Path::new(FIXTURES).join("countries"))
        .expect("countries dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.is_dir())
        .collect();
    countries.sort();
    for dir in countries {
        let country = dir
            .file_name()
            .and_then(|n| n.to_str())
            .expect("country name")
            .to_owned();
        push_dir(&country, dir);
    }
    files
}

/// (test_name, country, test_set) rows of known_issues.csv.
fn known_issues() -> Vec<(String, String, String)> {
    let text = std::fs::read_to_string(Path::new(FIXTURES).join("known_issues.csv"))
        .expect("known_issues.csv");
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let cols: Vec<&str> = line.split(',').collect();
            (cols.len() >= 3).then(|| (cols[0].into(), cols[1].into(), cols[2].into()))
        })
        .collect()
}

fn upstream_tests(step: &str) -> &'static [&'static str] {
    match step {
        "EXPECTEDVERIFY" => &["test_verification_check"],
        "EXPECTEDEXPIRATIONCHECK" => &["test_expiration_check"],
        "EXPECTEDKEYUSAGE" => &["test_expected_key_usage"],
        "EXPECTEDSCHEMAVALIDATION" => &["test_cose_schema"],
        "EXPECTEDDECODE" => &["test_cose_json", "test_cose_cbor", "test_cbor_json"],
        "EXPECTEDVALIDJSON" => &["test_cbor_json"],
        "EXPECTEDCOMPRESSION" => &["test_compression"],
        "EXPECTEDB45DECODE" => &["test_b45decode"],
        "EXPECTEDUNPREFIX" => &["test_un_prefix"],
        "EXPECTEDPICTUREDECODE" => &["test_picture_decode"],
        _ => &[],
    }
}

fn is_known_issue(
    issues: &[(String, String, String)],
    country: &str,
    stem: &str,
    step: &str,
) -> bool {
    upstream_tests(step).iter().any(|test| {
        issues
            .iter()
            .any(|(t, c, s)| t == test && c == country && (s.is_empty() || s == stem))
    })
}

fn hex_field(case: &Value, key: &str) -> Option<Result<Vec<u8>, hex::FromHexError>> {
    case.get(key).and_then(Value::as_str).map(hex::decode)
}

fn str_field<'a>(case: &'a Value, key: &str) -> Option<&'a str> {
    case.get(key).and_then(Value::as_str)
}

/// Parses the validation clocks of the fixtures: RFC 3339 with up to 9 fraction digits,
/// offsets with or without a colon, or no offset (UTC).
fn parse_clock(text: &str) -> OffsetDateTime {
    let text = text.trim();
    let (main, offset) = split_offset(text);
    let (date_time, fraction) = main.split_once('.').unwrap_or((main, ""));
    let digits: String = fraction.chars().take(9).collect();
    let nanos = format!("{digits:0<9}");
    let normalized = format!("{date_time}.{nanos}{offset}");
    OffsetDateTime::parse(&normalized, &time::format_description::well_known::Rfc3339)
        .expect("validation clock parses")
}

fn split_offset(text: &str) -> (&str, String) {
    if let Some(main) = text.strip_suffix('Z') {
        return (main, "Z".into());
    }
    let tail_start = text.len().saturating_sub(6);
    let tail = &text[tail_start..];
    if let Some(pos) = tail.rfind(['+', '-']) {
        let at = tail_start + pos;
        let offset = &text[at..];
        if offset.len() == 5 && !offset.contains(':') {
            return (&text[..at], format!("{}:{}", &offset[..3], &offset[3..]));
        }
        if offset.len() == 6 && offset.as_bytes()[3] == b':' {
            return (&text[..at], offset.into());
        }
    }
    (text, "Z".into())
}

/// Like the upstream `_ordered`: objects by key, arrays sorted, date-time strings normalized to
/// UTC seconds, numbers compared as f64.
fn normalize(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let sorted: BTreeMap<String, Value> =
                map.iter().map(|(k, v)| (k.clone(), normalize(v))).collect();
            Value::Object(sorted.into_iter().collect())
        }
        Value::Array(items) => {
            let mut items: Vec<Value> = items.iter().map(normalize).collect();
            items.sort_by_key(|v| v.to_string());
            Value::Array(items)
        }
        Value::String(s) => Value::String(normalize_time(s).unwrap_or_else(|| s.clone())),
        Value::Number(n) => serde_json::json!(n.as_f64()),
        other => other.clone(),
    }
}

fn normalize_time(s: &str) -> Option<String> {
    if s.len() < 19 || s.as_bytes().get(10) != Some(&b'T') {
        return None;
    }
    let (main, offset) = split_offset(s);
    let (date_time, _) = main.split_once('.').unwrap_or((main, ""));
    let parsed = OffsetDateTime::parse(
        &format!("{date_time}{offset}"),
        &time::format_description::well_known::Rfc3339,
    )
    .ok()?;
    let utc = parsed.to_offset(time::UtcOffset::UTC);
    Some(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        utc.year(),
        u8::from(utc.month()),
        utc.day(),
        utc.hour(),
        utc.minute(),
        utc.second()
    ))
}

struct Case {
    value: Value,
    trust: TrustList,
    clock: OffsetDateTime,
}

impl Case {
    fn cose_bytes(&self) -> Option<Vec<u8>> {
        match hex_field(&self.value, "COSE") {
            Some(bytes) => bytes.ok(),
            None => {
                str_field(&self.value, "PREFIX").and_then(|p| dcc::decode_to_cose_bytes(p).ok())
            }
        }
    }

    fn claims(&self) -> Option<(dcc::CoseSign1, dcc::CwtClaims)> {
        let cose = dcc::parse_cose_sign1(&self.cose_bytes()?).ok()?;
        let claims = dcc::parse_cwt(&cose.payload).ok()?;
        Some((cose, claims))
    }

    /// The payload under test: from COSE if present, else the CBOR field, else the QR chain.
    fn hcert(&self) -> Option<Value> {
        if self.value.get("COSE").is_none()
            && let Some(cbor) = hex_field(&self.value, "CBOR")
        {
            return cbor_field_json(&cbor.ok()?);
        }
        self.claims().map(|(_, c)| c.hcert_json())
    }

    fn signer(&self) -> Option<&teeka_cert::trust::X509Info> {
        self.trust.entries().first().and_then(|e| e.x509.as_ref())
    }

    fn run(&self, step: &str) -> Option<bool> {
        let v = &self.value;
        Some(match step {
            "EXPECTEDUNPREFIX" => {
                let base45 = str_field(v, "BASE45")?;
                dcc::unprefix(str_field(v, "PREFIX")?).is_ok_and(|s| s == base45)
            }
            "EXPECTEDB45DECODE" => {
                let expected = hex_field(v, "COMPRESSED")?.ok();
                dcc::base45_decode(str_field(v, "BASE45")?).ok() == expected
            }
            "EXPECTEDCOMPRESSION" => {
                let expected = hex_field(v, "COSE")?.ok();
                let compressed = hex_field(v, "COMPRESSED")?.ok()?;
                dcc::inflate(&compressed).ok() == expected
            }
            "EXPECTEDVERIFY" => self.cose_bytes().is_some_and(|bytes| {
                dcc::parse_cose_sign1(&bytes)
                    .is_ok_and(|cose| dcc::verify_signature(&cose, &self.trust).is_ok())
            }),
            "EXPECTEDDECODE" => self.decode_matches(),
            "EXPECTEDVALIDJSON" => self.valid_json(),
            "EXPECTEDSCHEMAVALIDATION" => self
                .hcert()
                .is_some_and(|h| dcc::validate_schema(&h).is_ok()),
            "EXPECTEDEXPIRATIONCHECK" => self.claims().is_some_and(|(_, claims)| {
                dcc::check_expiration(&claims, self.signer(), self.clock).is_ok()
            }),
            "EXPECTEDENCODE" => self.encode_matches(),
            "EXPECTEDVALIDOBJECT" => dcc::verify(str_field(v, "PREFIX")?, &self.trust, self.clock)
                .is_ok_and(|verdict| verdict.valid),
            "EXPECTEDPICTUREDECODE" => self.picture_matches(),
            "EXPECTEDKEYUSAGE" => self.claims().is_some_and(|(_, claims)| {
                dcc::check_key_usage(&claims.hcert_json(), self.signer()).is_ok()
            }),
            _ => return None,
        })
    }

    /// The QR code read from the case's picture (a base64 PNG) is the PREFIX text.
    fn picture_matches(&self) -> bool {
        use base64::Engine as _;
        let Some(picture) = str_field(&self.value, "2DCODE")
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        else {
            return false;
        };
        let Some(prefix) = str_field(&self.value, "PREFIX") else {
            return false;
        };
        teeka_cert::qr_image::decode_qr_codes(&picture)
            .is_ok_and(|codes| codes.iter().any(|c| c.content == prefix.as_bytes()))
    }

    /// The COSE payload equals the CBOR and JSON fields that are present.
    fn decode_matches(&self) -> bool {
        let Some((_, claims)) = self.claims() else {
            return false;
        };
        let hcert = normalize(&claims.hcert_json());
        let cbor_ok = match hex_field(&self.value, "CBOR") {
            Some(Ok(bytes)) => cbor_field_json(&bytes).is_some_and(|c| normalize(&c) == hcert),
            Some(Err(_)) => false,
            None => true,
        };
        let json_ok = self
            .value
            .get("JSON")
            .is_none_or(|json| normalize(json) == hcert);
        cbor_ok && json_ok
    }

    /// The JSON field, encoded to CBOR, equals the CBOR field (semantically).
    fn encode_matches(&self) -> bool {
        let (Some(json), Some(Ok(cbor))) = (self.value.get("JSON"), hex_field(&self.value, "CBOR"))
        else {
            return false;
        };
        let mut encoded = Vec::new();
        ciborium::into_writer(&dcc::json_to_cbor(json), &mut encoded).expect("encode CBOR");
        let reencoded = dcc::decode_cbor(&encoded).expect("decode CBOR");
        cbor_field_json(&cbor)
            .is_some_and(|c| normalize(&c) == normalize(&dcc::cbor_to_json(&reencoded)))
    }

    /// The full chain from the QR text yields the JSON field.
    fn valid_json(&self) -> bool {
        let Some(json) = self.value.get("JSON") else {
            return false;
        };
        let from_chain = str_field(&self.value, "PREFIX")
            .and_then(|p| dcc::decode(p).ok())
            .map(|(_, c)| c.hcert_json());
        let from_cbor = hex_field(&self.value, "CBOR")
            .and_then(Result::ok)
            .and_then(|b| cbor_field_json(&b));
        from_chain
            .or(from_cbor)
            .is_some_and(|h| normalize(&h) == normalize(json))
    }
}

/// The CBOR field holds either the bare payload or the whole CWT claims map.
fn cbor_field_json(bytes: &[u8]) -> Option<Value> {
    if let Ok(claims) = dcc::parse_cwt(bytes) {
        return Some(claims.hcert_json());
    }
    dcc::decode_cbor(bytes).ok().map(|c| dcc::cbor_to_json(&c))
}

#[test]
fn eu_dcc_fixture_cases_agree_with_expectations() {
    let issues = known_issues();
    let (mut cases, mut steps, mut agree, mut known, mut pictures) = (0, 0, 0, 0, 0);
    let mut disagreements = Vec::new();
    for (country, path) in case_files() {
        cases += 1;
        let value = read_json(&path);
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("stem")
            .to_owned();
        let ctx = &value["TESTCTX"];
        let mut trust = TrustList::new();
        if let Some(cert) = ctx.get("CERTIFICATE").and_then(Value::as_str) {
            trust.add_x509_base64(cert).expect("DSC loads");
        }
        let clock = parse_clock(ctx["VALIDATIONCLOCK"].as_str().expect("clock"));
        let case = Case {
            value: value.clone(),
            trust,
            clock,
        };
        let expected = value["EXPECTEDRESULTS"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        for (step, want) in expected {
            let Some(want) = want.as_bool() else { continue };
            // Upstream skips the picture step of a case that has no picture.
            if step == "EXPECTEDPICTUREDECODE"
                && str_field(&case.value, "2DCODE").is_none_or(str::is_empty)
            {
                pictures += 1;
                continue;
            }
            if is_known_issue(&issues, &country, &stem, &step) {
                known += 1;
                continue;
            }
            let Some(got) = case.run(&step) else { continue };
            steps += 1;
            if got == want {
                agree += 1;
            } else {
                disagreements.push(format!(
                    "{country}/{stem} {step}: expected {want}, got {got}"
                ));
            }
        }
    }
    println!(
        "EU DCC: {cases} cases, {steps} step expectations, {agree} agree, {} disagree, \
         {known} known-issue steps excluded, {pictures} picture steps without a picture",
        disagreements.len()
    );
    for d in &disagreements {
        println!("  DISAGREE {d}");
    }
    assert_eq!(cases, 121, "all 121 cases found");
    assert!(disagreements.is_empty(), "{disagreements:#?}");
}

#[test]
fn schema_test_payloads() {
    for (dir, want) in [("valid", true), ("invalid", false)] {
        let folder = Path::new(FIXTURES).join("schema/tests").join(dir);
        for entry in std::fs::read_dir(&folder).expect("schema tests") {
            let path = entry.expect("entry").path();
            let result = dcc::validate_schema(&read_json(&path));
            assert_eq!(result.is_ok(), want, "{}: {result:?}", path.display());
        }
    }
}

fn fresh_key() -> p256::ecdsa::SigningKey {
    use p256::elliptic_curve::Generate as _;
    p256::ecdsa::SigningKey::try_generate().expect("OS randomness")
}

fn sample_payload() -> Value {
    serde_json::json!({
        "ver": "1.3.0",
        "nam": {"fn": "Sharma", "fnt": "SHARMA", "gn": "Asha", "gnt": "ASHA"},
        "dob": "1990-04-01",
        "v": [{
            "tg": "840539006", "vp": "1119349007", "mp": "EU/1/20/1528", "ma": "ORG-100030215",
            "dn": 2, "sd": 2, "dt": "2021-06-11", "co": "IN", "is": "Teeka",
            "ci": "URN:UVCI:01:IN:TEEKA0000000001#X"
        }]
    })
}

#[test]
fn issued_dcc_round_trips_and_detects_tampering() {
    let key = fresh_key();
    let kid = [1u8, 2, 3, 4, 5, 6, 7, 8];
    let now = OffsetDateTime::now_utc();
    let iat = now.unix_timestamp() - 60;
    let qr = dcc::issue_dcc(&sample_payload(), "IN", iat, iat + 86_400, &key, &kid).expect("issue");
    assert!(qr.starts_with("HC1:"));
    let mut trust = TrustList::new();
    trust.add_p256(*key.verifying_key(), &kid, None);
    let verdict = dcc::verify(&qr, &trust, now).expect("decodable");
    assert!(verdict.valid, "{verdict:?}");
    assert_eq!(verdict.format, "eu-dcc");
    assert_eq!(verdict.issuer.as_deref(), Some("IN"));
    assert_eq!(verdict.subject["last_dose"]["number"], 2);

    let expired = dcc::verify(&qr, &trust, now + time::Duration::days(2)).expect("decodable");
    assert!(!expired.valid);

    let other = TrustList::new();
    assert!(!dcc::verify(&qr, &other, now).expect("decodable").valid);

    let (cose, _) = dcc::decode(&qr).expect("decode");
    let mut raw = {
        let mut bytes = Vec::new();
        let value = ciborium::Value::Tag(
            18,
            Box::new(ciborium::Value::Array(vec![
                ciborium::Value::Bytes(cose.protected_bytes.clone()),
                ciborium::Value::Map(Vec::new()),
                ciborium::Value::Bytes(cose.payload.clone()),
                ciborium::Value::Bytes(cose.signature.clone()),
            ])),
        );
        ciborium::into_writer(&value, &mut bytes).expect("encode");
        bytes
    };
    let last = raw.len() - 1;
    raw[last] ^= 0x01;
    let tampered = format!(
        "HC1:{}",
        base45::encode(dcc::deflate(&raw).expect("deflate"))
    );
    let verdict = dcc::verify(&tampered, &trust, now).expect("still decodable");
    assert!(!verdict.valid, "flipped signature byte must fail");
}

#[test]
fn revocation_hashes_match_sample_data() {
    let samples =
        read_json(&Path::new(FIXTURES).join("revocation/RevocationCalculationSampleData.json"));
    let samples = samples.as_array().expect("array");
    assert_eq!(samples.len(), 3);
    for sample in samples {
        let qr = sample["barcodeData"].as_str().expect("barcode");
        let (cose, claims) = dcc::decode(qr).expect("decodes");
        let hcert = claims.hcert_json();
        let uci = dcc::uci(&hcert).expect("ci");
        let country = claims.iss.as_deref().expect("iss");
        assert_eq!(hex::encode(dcc::revocation_hash_uci(uci)), sample["expUCI"]);
        assert_eq!(
            hex::encode(dcc::revocation_hash_country_uci(country, uci)),
            sample["expCOUNTRYCODEUCI"]
        );
        assert_eq!(
            hex::encode(dcc::revocation_hash_signature(&cose)),
            sample["expSIGNATURE"]
        );
    }
}

#[test]
fn trust_list_loads_other_key_formats() {
    let divoc = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/certificates/divoc/vectors"
    );
    let shc_jwks = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/certificates/shc/issuer/.well-known/jwks.json"
    );
    let mut trust = TrustList::new();
    assert_eq!(
        trust
            .load_file(Path::new(divoc).join("dev_rsa_public.pem"))
            .expect("PEM"),
        1
    );
    assert_eq!(
        trust
            .load_file(Path::new(divoc).join("dev_ed25519_key.json"))
            .expect("b58"),
        1
    );
    assert_eq!(trust.load_file(shc_jwks).expect("JWKS"), 2);
    let families: Vec<_> = trust.entries().iter().map(|e| e.family()).collect();
    use teeka_cert::trust::KeyFamily::{Ed25519, P256, Rsa};
    // The SHC key with an X.509 chain is also found by its certificate's EU kid.
    assert_eq!(families, vec![Rsa, Ed25519, P256, P256, P256]);
    assert_eq!(trust.find_by_kid(b"did:india").len(), 1);
    let with_x5c = trust.find_by_kid(b"EBKOr72QQDcTBUuVzAzkfBTGew0ZA16GuWty64nS-sw");
    assert!(with_x5c[0].x509.is_some());
}

#[test]
fn teekas_traveller_certificate_follows_the_schema_and_the_value_sets_and_revokes() {
    use teeka_cert::certificate::{CertificateFacts, DccHolder, dcc_vaccine_codes};
    use teeka_cert::verify::{Revocations, verify_any};
    let facts = CertificateFacts {
        name: "Asha Mary D'Souza".into(),
        ..CertificateFacts::example()
    };
    let holder = DccHolder {
        surname: "D'Souza".into(),
        surname_icao: "DSOUZA".into(),
        given_names: "Asha Mary".into(),
        given_names_icao: "ASHA<MARY".into(),
        date_of_birth: "1990-04-01".into(),
    };
    let payload = facts.dcc_payload(&holder);
    dcc::validate_schema(&payload).expect("schema 1.3");
    assert!(
        !payload.to_string().contains("12345678901234\""),
        "no reference id"
    );
    // Every code Teeka uses for CoWIN's vaccines is in the EU value sets.
    let values = |file: &str| read_json(&Path::new(FIXTURES).join("valuesets").join(file));
    let (vp_set, mp_set, ma_set) = (
        values("vaccine-prophylaxis.json"),
        values("vaccine-medicinal-product.json"),
        values("vaccine-mah-manf.json"),
    );
    for vaccine in ["COVISHIELD", "COVAXIN", "SPUTNIK V", "COVOVAX"] {
        let (vp, mp, ma) = dcc_vaccine_codes(vaccine);
        assert!(vp_set["valueSetValues"].get(vp).is_some(), "{vaccine} {vp}");
        assert!(
            mp_set["valueSetValues"].get(&mp).is_some(),
            "{vaccine} {mp}"
        );
        assert!(ma_set["valueSetValues"].get(ma).is_some(), "{vaccine} {ma}");
    }

    let key = fresh_key();
    let now = OffsetDateTime::now_utc();
    let dsc = dcc::signer::signer_certificate(&key, "t1", now.unix_timestamp() - 60, 86_400 * 365)
        .expect("dsc");
    let kid = teeka_cert::trust::dcc_kid(&dsc);
    let iat = now.unix_timestamp() - 60;
    let qr = dcc::issue_dcc(&payload, "IN", iat, iat + 86_400, &key, &kid).expect("issue");
    let mut trust = TrustList::new();
    trust.add_pem(&dcc::signer::to_pem(&dsc)).expect("DSC");
    let none = Revocations::default();
    let verdict = verify_any(qr.as_bytes(), &trust, &none, now).expect("usable");
    assert!(verdict.valid, "{verdict:?}");
    let (_, claims) = dcc::decode(&qr).expect("decode");
    dcc::check_key_usage(&claims.hcert_json(), trust.entries()[0].x509.as_ref())
        .expect("the DSC may sign vaccination certificates");
    // Revoked by the hash of its UCI, as the EU's lists give it.
    let mut revoked = Revocations::default();
    revoked.add_json(
        &serde_json::json!({
            "revoked": [],
            "dcc_revoked": [hex::encode(dcc::revocation_hash_uci(&teeka_cert::certificate::dcc_uci(&facts.certificate_id)))]
        })
        .to_string(),
    )
    .expect("list");
    let verdict = verify_any(qr.as_bytes(), &trust, &revoked, now).expect("usable");
    assert!(
        !verdict.valid
            && verdict
                .reason
                .as_deref()
                .is_some_and(|r| r.contains("revoked"))
    );
}
