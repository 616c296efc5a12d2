//! The Verhoeff check-digit scheme, which Aadhaar numbers and Aadhaar Virtual IDs carry as their
//! last digit. It catches every single-digit error and every swap of adjacent digits.

/// Multiplication table of the dihedral group D5.
const D: [[u8; 10]; 10] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
    [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
    [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
    [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
    [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
    [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
];

/// Position-dependent permutation; row `i % 8` applies to the digit `i` places from the right.
const P: [[u8; 10]; 8] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
    [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
    [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
    [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
    [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
    [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
];

/// Inverses in D5 (rotations pair up, reflections 5..=9 are their own inverse), turning the running checksum into the digit that cancels it.
const INV: [u8; 10] = [0, 4, 3, 2, 1, 5, 6, 7, 8, 9];

/// Folds the digits right to left, with the rightmost digit at position `offset`.
/// `None` if any character is not an ASCII digit.
fn checksum(digits: &str, offset: usize) -> Option<u8> {
    let mut c = 0u8;
    for (i, b) in digits.bytes().rev().enumerate() {
        if !b.is_ascii_digit() {
            return None;
        }
        let permuted = P[(i + offset) % 8][usize::from(b - b'0')];
        c = D[usize::from(c)][usize::from(permuted)];
    }
    Some(c)
}

/// Whether `digits` (check digit last) passes the Verhoeff check. False for an empty string or
/// any character that is not an ASCII digit.
pub fn is_valid(digits: &str) -> bool {
    !digits.is_empty() && checksum(digits, 0) == Some(0)
}

/// The digit to append to `digits` so that the result passes [`is_valid`]; `None` if `digits`
/// contains anything but ASCII digits.
pub fn check_digit(digits: &str) -> Option<char> {
    // Offset 1: every existing digit moves one place left once the check digit is appended.
    let c = checksum(digits, 1)?;
    Some(char::from(b'0' + INV[usize::from(c)]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        assert_eq!(check_digit("236"), Some('3'));
        assert!(is_valid("2363"));
        assert_eq!(check_digit("12345"), Some('1'));
        assert!(is_valid("123451"));
        assert!(!is_valid("2364"));
        assert!(!is_valid("123452"));
    }

    #[test]
    fn rejects_empty_and_non_digits() {
        assert!(!is_valid(""));
        assert!(!is_valid("23a3"));
        assert!(!is_valid("２３６３"));
        assert_eq!(check_digit("23x"), None);
    }

    #[test]
    fn check_digit_always_validates() {
        for prefix in ["0", "9", "23456789012", "999999999999999", "1000000"] {
            let d = check_digit(prefix).expect("digits");
            assert!(is_valid(&format!("{prefix}{d}")), "{prefix}{d}");
        }
    }

    fn valid_twelve() -> Vec<u8> {
        let prefix = "23456789012";
        let d = check_digit(prefix).expect("digits");
        format!("{prefix}{d}").into_bytes()
    }

    #[test]
    fn detects_every_single_substitution() {
        let valid = valid_twelve();
        assert!(is_valid(std::str::from_utf8(&valid).expect("ascii")));
        for pos in 0..valid.len() {
            for digit in b'0'..=b'9' {
                if digit == valid[pos] {
                    continue;
                }
                let mut changed = valid.clone();
                changed[pos] = digit;
                let s = String::from_utf8(changed).expect("ascii");
                assert!(!is_valid(&s), "substitution not detected: {s}");
            }
        }
    }

    #[test]
    fn detects_every_adjacent_transposition() {
        let valid = valid_twelve();
        let mut checked = 0;
        for pos in 0..valid.len() - 1 {
            if valid[pos] == valid[pos + 1] {
                continue; // swapping equal digits changes nothing
            }
            let mut swapped = valid.clone();
            swapped.swap(pos, pos + 1);
            let s = String::from_utf8(swapped).expect("ascii");
            assert!(!is_valid(&s), "transposition not detected: {s}");
            checked += 1;
        }
        assert_eq!(checked, valid.len() - 1);
    }
}
