//! DIVOC/CoWIN Verifiable Credential signature vectors (shared developer fixtures) and an
//! Ed25519Signature2018 sign → verify round trip on a CoWIN-shaped credential.

use serde_json::{Value, json};
use sha2::Digest as _;
use teeka_cert::ld::{VerificationKey, canonicalize, sign_ed25519, summarize, verify_proof};

const DIVOC: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/fixtures/certificates/divoc"
);

fn read(rel: &str) -> String {
    let path = format!("{DIVOC}/{rel}");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"))
}

fn load_key(file: &str) -> VerificationKey {
    let text = read(&format!("vectors/{file}"));
    if file.ends_with(".pem") {
        VerificationKey::from_pem(&text).expect("PEM key")
    } else {
        let doc: Value = serde_json::from_str(&text).expect("key JSON");
        let b58 = doc["publicKeyBase58"].as_str().expect("publicKeyBase58");
        VerificationKey::from_base58_ed25519(b58).expect("base58 key")
    }
}

#[test]
fn divoc_vectors_agree_with_expectations() {
    let manifest: Value = serde_json::from_str(&read("vectors/manifest.json")).expect("manifest");
    let vectors = manifest["vectors"].as_array().expect("vectors");
    let (mut valid_agree, mut invalid_agree, mut ambiguous) = (0, 0, 0);
    let mut ambiguous_results = Vec::new();
    let mut disagreements = Vec::new();
    for v in vectors {
        let file = v["file"].as_str().expect("file");
        let expected = v["expected"].as_str().expect("expected");
        let credential: Value =
            serde_json::from_str(&read(&format!("vectors/{file}"))).expect("vector JSON");
        let key = load_key(v["key"].as_str().expect("key"));
        let result = verify_proof(&credential, &key);
        match expected {
            "valid" => match result {
                Ok(true) => valid_agree += 1,
                other => disagreements.push(format!("{file}: expected valid, got {other:?}")),
            },
            "invalid" => match result {
                // The manifest says signature mismatch, so an error would not agree.
                Ok(false) => invalid_agree += 1,
                other => disagreements.push(format!("{file}: expected invalid, got {other:?}")),
            },
            "ambiguous" => {
                ambiguous += 1;
                ambiguous_results.push(match result {
                    Ok(b) => b.to_string(),
                    Err(e) => format!("error: {e}"),
                });
            }
            other => panic!("unknown expectation {other} for {file}"),
        }
    }
    println!(
        "DIVOC: {} vectors, {valid_agree} valid agree, {invalid_agree} invalid agrees, \
         {ambiguous} ambiguous (gave {})",
        vectors.len(),
        ambiguous_results.join(", ")
    );
    assert!(
        disagreements.is_empty(),
        "disagreements: {disagreements:#?}"
    );
    assert_eq!(valid_agree, 3);
    assert_eq!(invalid_agree, 1);
    assert_eq!(ambiguous, 1);
}

fn cowin_credential() -> Value {
    json!({
        "@context": [
            "https://www.w3.org/2018/credentials/v1",
            "https://cowin.gov.in/credentials/vaccination/v1"
        ],
        "type": ["VerifiableCredential", "ProofOfVaccinationCredential"],
        "credentialSubject": {
            "type": "Person",
            "id": "did:teeka:beneficiary:42",
            "refId": "REF-0042",
            "name": "Asha Kumari",
            "gender": "Female",
            "age": "34",
            "nationality": "Indian"
        },
        "issuer": "https://teeka.example/",
        "issuanceDate": "2021-09-01T10:00:00.000Z",
        "evidence": [{
            "id": "https://teeka.example/vaccine/42-1",
            "type": ["Vaccination"],
            "vaccine": "COVISHIELD",
            "manufacturer": "Serum Institute of India",
            "batch": "4121Z005",
            "date": "2021-09-01T09:30:00.000Z",
            "dose": 1,
            "totalDoses": 2,
            "facility": {
                "name": "PHC Rampur",
                "address": {"district": "Rampur", "addressRegion": "Uttar Pradesh", "addressCountry": "IN"}
            }
        }],
        "nonTransferable": "true"
    })
}

#[test]
fn ed25519_sign_verify_round_trip_and_tamper() {
    let signing = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
    let key = VerificationKey::Ed25519(signing.verifying_key());
    let signed = sign_ed25519(
        cowin_credential(),
        &signing,
        "did:teeka#key-1",
        "2021-09-01T10:00:00Z",
    )
    .expect("sign");
    assert_eq!(signed["proof"]["type"], "Ed25519Signature2018");
    assert!(verify_proof(&signed, &key).expect("verify"));

    let mut tampered = signed.clone();
    tampered["evidence"][0]["batch"] = json!("4121Z006");
    assert!(!verify_proof(&tampered, &key).expect("verify tampered"));

    let mut tampered_proof = signed.clone();
    tampered_proof["proof"]["created"] = json!("2021-09-02T10:00:00Z");
    assert!(!verify_proof(&tampered_proof, &key).expect("verify tampered proof"));

    let other = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]);
    let wrong_key = VerificationKey::Ed25519(other.verifying_key());
    assert!(!verify_proof(&signed, &wrong_key).expect("verify with other key"));

    // A key no context defines would not be covered by the signature: refused both ways.
    let mut extra = signed.clone();
    extra["credentialSubject"]["aadhaar"] = json!("1234 5678 9012");
    assert!(verify_proof(&extra, &key).is_err());
    let mut unsigned = cowin_credential();
    unsigned["note"] = json!("not in any context");
    assert!(
        sign_ed25519(
            unsigned,
            &signing,
            "did:teeka#key-1",
            "2021-09-01T10:00:00Z"
        )
        .is_err()
    );
    println!(
        "Ed25519Signature2018 round trip: signed verifies; 2 tampered, wrong key, undefined term rejected"
    );
}

#[test]
fn dev_ed25519_private_key_matches_public_key() {
    let doc: Value = serde_json::from_str(&read("vectors/dev_ed25519_key.json")).expect("key");
    let secret = bs58::decode(doc["privateKeyBase58_TEST_ONLY"].as_str().expect("private"))
        .into_vec()
        .expect("base58");
    let pair: [u8; 64] = secret.try_into().expect("64-byte keypair");
    let signing = ed25519_dalek::SigningKey::from_keypair_bytes(&pair).expect("keypair");
    let VerificationKey::Ed25519(public) =
        VerificationKey::from_base58_ed25519(doc["publicKeyBase58"].as_str().expect("public"))
            .expect("public key")
    else {
        panic!("not an Ed25519 key");
    };
    assert_eq!(signing.verifying_key(), public);
}

#[test]
fn summary_omits_national_ids() {
    let s = summarize(&cowin_credential());
    assert_eq!(s["name"], "Asha Kumari");
    assert_eq!(s["gender"], "Female");
    assert_eq!(s["age"], "34");
    assert_eq!(s["lastDose"]["vaccine"], "COVISHIELD");
    assert_eq!(s["lastDose"]["dose"], 1);
    assert_eq!(s["lastDose"]["totalDoses"], 2);
    let text = s.to_string();
    assert!(!text.contains("REF-0042"));
    assert!(!text.contains("did:teeka:beneficiary"));
}

#[test]
fn canonical_form_of_a_divoc_vector_is_stable() {
    let credential: Value =
        serde_json::from_str(&read("vectors/rsa2018_cowin_v1_valid.json")).expect("vector");
    let mut doc = credential.clone();
    doc.as_object_mut().expect("object").remove("proof");
    let a = canonicalize(&doc).expect("canonicalize");
    // Key order in the input must not matter.
    let reordered: Value = serde_json::from_str(&doc.to_string()).expect("reparse");
    assert_eq!(a, canonicalize(&reordered).expect("canonicalize again"));
    assert!(a.contains("<https://www.w3.org/2018/credentials#issuer> <https://cowin.gov.in/>"));
    assert!(
        a.contains("\"2021-01-15T17:21:13.117Z\"^^<http://www.w3.org/2001/XMLSchema#dateTime>")
    );
    // Golden values computed independently with pyld 2 (URDNA2015) and the same contexts.
    // `vac:` does not end in a gen-delim, so JSON-LD 1.1 leaves `vac:...` as an absolute IRI.
    assert!(a.contains("_:c14n2 <vac:nonTransferable> \"true\" .\n"));
    assert_eq!(a.lines().count(), 42);
    assert_eq!(
        hex::encode(sha2::Sha256::digest(a.as_bytes())),
        "429c3ae7d9e94612894f7e2f58c2d0e4dd3f6d33ad94c2fe3cbe05ad5ebe442e"
    );

    let mut proof = credential["proof"].clone();
    let options = proof.as_object_mut().expect("proof object");
    options.remove("jws");
    options.insert("@context".into(), json!("https://w3id.org/security/v2"));
    assert_eq!(
        canonicalize(&proof).expect("canonicalize proof options"),
        concat!(
            "_:c14n0 <http://purl.org/dc/terms/created> \"2021-01-15T17:21:13Z\"",
            "^^<http://www.w3.org/2001/XMLSchema#dateTime> .\n",
            "_:c14n0 <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> ",
            "<https://w3id.org/security#RsaSignature2018> .\n",
            "_:c14n0 <https://w3id.org/security#proofPurpose> ",
            "<https://w3id.org/security#assertionMethod> .\n",
            "_:c14n0 <https://w3id.org/security#verificationMethod> <did:india> .\n",
        )
    );
}
