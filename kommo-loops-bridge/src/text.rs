//! Texts built on the hot path (explanations for every rule that does not match, key
//! prefixes) without the formatting machinery, which costs several times more than the
//! copying itself.

/// Joins parts into one string, allocated once.
pub(crate) fn concat(parts: &[&str]) -> String {
    let mut text = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for part in parts {
        text.push_str(part);
    }
    text
}

/// Appends `bytes` as lowercase hexadecimal.
pub(crate) fn push_hex(text: &mut String, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    text.reserve(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(HEX[usize::from(byte >> 4)]));
        text.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
}

/// A number's decimal digits, on the stack.
pub(crate) struct Decimal {
    digits: [u8; 20],
    start: usize,
}

impl Decimal {
    pub(crate) fn new(mut n: u64) -> Self {
        let mut digits = [0u8; 20];
        let mut start = digits.len();
        loop {
            start -= 1;
            digits[start] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        Decimal { digits, start }
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.digits[self.start..]
    }

    pub(crate) fn as_str(&self) -> &str {
        // ASCII digits only, so this never falls back.
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_match_the_formatter() {
        for n in [0u64, 7, 10, 99, 142, 12345, 1_767_232_800, u64::MAX] {
            assert_eq!(Decimal::new(n).as_str(), n.to_string());
        }
        assert_eq!(
            concat(&["moved to status ", "142", ", not ", "5001"]),
            "moved to status 142, not 5001"
        );
        assert_eq!(concat(&[]), "");
    }

    #[test]
    fn hex_matches_the_formatter() {
        for bytes in [&[][..], &[0x00], &[0x0f, 0xf0, 0xab], &[0xff; 20]] {
            let mut text = String::from("kd-");
            push_hex(&mut text, bytes);
            let expected: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(text, format!("kd-{expected}"));
        }
    }
}
