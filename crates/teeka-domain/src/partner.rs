//! What a partner may ask for: the scopes of its access, the fields of a person it may see, and
//! the API key it presents. Parsed once at the edge; everything inside speaks these types.

use crate::DomainError;
use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// What a partner may do on a person's behalf.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// Live availability (the token-protected calendar routes).
    Availability,
    /// Schedule, reschedule and cancel appointments, and fetch their slips.
    Booking,
    /// Read the person's beneficiaries (only the approved fields).
    BeneficiaryRead,
    /// Download certificates.
    Certificate,
    /// A signed vaccinated / not vaccinated answer.
    StatusCheck,
    /// Aggregate exports (counts only, small cells suppressed); needs no person's consent.
    Research,
}

impl Scope {
    /// Every scope, in a fixed order.
    pub const ALL: [Scope; 6] = [
        Scope::Availability,
        Scope::Booking,
        Scope::BeneficiaryRead,
        Scope::Certificate,
        Scope::StatusCheck,
        Scope::Research,
    ];

    /// The scope's name on the wire and in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Availability => "availability",
            Scope::Booking => "booking",
            Scope::BeneficiaryRead => "beneficiary_read",
            Scope::Certificate => "certificate",
            Scope::StatusCheck => "status_check",
            Scope::Research => "research",
        }
    }

    /// How the scope reads in the SMS that asks the person to approve it.
    pub fn plain_words(self) -> &'static str {
        match self {
            Scope::Availability => "see open slots",
            Scope::Booking => "book and cancel appointments",
            Scope::BeneficiaryRead => "see your registered members",
            Scope::Certificate => "download certificates",
            Scope::StatusCheck => "check vaccination status",
            Scope::Research => "count (never see) vaccinations",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::ALL
            .into_iter()
            .find(|scope| scope.as_str() == s.trim())
            .ok_or_else(|| {
                DomainError::invalid(
                    "scopes",
                    "each scope is one of availability, booking, beneficiary_read, certificate, status_check, research",
                )
            })
    }
}

/// A field of a person a partner may be shown (always masked where the citizen sees it masked).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SharedField {
    /// The name, masked.
    Name,
    /// The year of birth.
    BirthYear,
    /// The gender.
    Gender,
    /// The photo ID's kind and its masked number.
    PhotoId,
    /// The mobile, masked.
    Mobile,
    /// Live appointments (centre, day, slot; the check-in code stays with the person).
    Appointments,
}

impl SharedField {
    /// Every field, in a fixed order.
    pub const ALL: [SharedField; 6] = [
        SharedField::Name,
        SharedField::BirthYear,
        SharedField::Gender,
        SharedField::PhotoId,
        SharedField::Mobile,
        SharedField::Appointments,
    ];

    /// The field's name on the wire and in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            SharedField::Name => "name",
            SharedField::BirthYear => "birth_year",
            SharedField::Gender => "gender",
            SharedField::PhotoId => "photo_id",
            SharedField::Mobile => "mobile",
            SharedField::Appointments => "appointments",
        }
    }
}

impl fmt::Display for SharedField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SharedField {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SharedField::ALL
            .into_iter()
            .find(|field| field.as_str() == s.trim())
            .ok_or_else(|| {
                DomainError::invalid(
                    "fields",
                    "each field is one of name, birth_year, gender, photo_id, mobile, appointments",
                )
            })
    }
}

/// Parses a comma-separated list (`booking,beneficiary_read`) into a set; empty items are
/// refused, and so is an empty list.
pub fn parse_set<T: FromStr<Err = DomainError> + Ord>(
    text: &str,
    field: &'static str,
) -> Result<BTreeSet<T>, DomainError> {
    if text.len() > 500 {
        return Err(DomainError::invalid(field, "too long"));
    }
    let set = text
        .split(',')
        .map(str::parse)
        .collect::<Result<BTreeSet<T>, _>>()?;
    if set.is_empty() {
        return Err(DomainError::invalid(field, "at least one is required"));
    }
    Ok(set)
}

/// A set as stored and sent: comma-separated, in the type's order.
pub fn join_set<T: fmt::Display>(set: &BTreeSet<T>) -> String {
    set.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// A partner's API key as sent in `X-Api-Key`: `tk_<client id>_<secret>`, where the client id is
/// 16 lowercase hex digits and the secret 64. Only the secret's hash is stored.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey {
    client_id: String,
    secret: String,
}

impl ApiKey {
    /// Builds a key from its parts (both as generated: lowercase hex).
    pub fn new(client_id: String, secret: String) -> Result<Self, DomainError> {
        format!("tk_{client_id}_{secret}").parse()
    }

    /// The public half: names the partner.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The secret half.
    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// The key as the partner sends it.
    pub fn expose(&self) -> String {
        format!("tk_{}_{}", self.client_id, self.secret)
    }
}

/// Never prints the secret.
impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey(tk_{}_…)", self.client_id)
    }
}

fn lower_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl FromStr for ApiKey {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || DomainError::invalid("X-Api-Key", "not a Teeka API key");
        let rest = s.trim().strip_prefix("tk_").ok_or_else(bad)?;
        let (client_id, secret) = rest.split_once('_').ok_or_else(bad)?;
        if !lower_hex(client_id, 16) || !lower_hex(secret, 64) {
            return Err(bad());
        }
        Ok(ApiKey {
            client_id: client_id.to_owned(),
            secret: secret.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_and_fields_round_trip_and_refuse_strangers() {
        let scopes: BTreeSet<Scope> =
            parse_set("booking, beneficiary_read", "scopes").expect("valid");
        assert_eq!(join_set(&scopes), "booking,beneficiary_read");
        assert!(parse_set::<Scope>("booking,everything", "scopes").is_err());
        assert!(parse_set::<Scope>("", "scopes").is_err());
        assert!(parse_set::<Scope>("booking,", "scopes").is_err());
        let fields: BTreeSet<SharedField> = parse_set("gender,name", "fields").expect("valid");
        assert_eq!(join_set(&fields), "name,gender");
        for scope in Scope::ALL {
            assert_eq!(scope.as_str().parse::<Scope>().expect("valid"), scope);
        }
        for field in SharedField::ALL {
            assert_eq!(field.as_str().parse::<SharedField>().expect("valid"), field);
        }
    }

    #[test]
    fn api_keys_parse_only_in_their_one_form_and_never_print_the_secret() {
        let key: ApiKey = format!("tk_{}_{}", "0123456789abcdef", "ab".repeat(32))
            .parse()
            .expect("valid");
        assert_eq!(key.client_id(), "0123456789abcdef");
        assert!(!format!("{key:?}").contains("abab"));
        assert_eq!(key.expose().parse::<ApiKey>().expect("valid"), key);
        for bad in [
            "",
            "tk_",
            "tk_0123456789abcdef",
            "tk_0123456789ABCDEF_ab",
            &format!("xx_0123456789abcdef_{}", "ab".repeat(32)),
            &format!("tk_0123456789abcde_{}", "ab".repeat(32)),
            &format!("tk_0123456789abcdef_{}", "ab".repeat(31)),
        ] {
            assert!(bad.parse::<ApiKey>().is_err(), "{bad}");
        }
    }
}
