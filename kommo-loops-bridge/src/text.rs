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

/// Joins parts into a shared string with one allocation (a `String` turned into an
/// `Arc<str>` is copied once more).
pub(crate) fn concat_shared(parts: &[&str]) -> std::sync::Arc<str> {
    let mut buffer = [0u8; 128];
    let len: usize = parts.iter().map(|p| p.len()).sum();
    if len > buffer.len() {
        return concat(parts).into();
    }
    let mut at = 0;
    for part in parts {
        buffer[at..at + part.len()].copy_from_slice(part.as_bytes());
        at += part.len();
    }
    // Whole `str`s joined: valid UTF-8, so this never falls back.
    std::str::from_utf8(&buffer[..len])
        .unwrap_or_default()
        .into()
}

/// Appends `"text"` as `{text:?}` writes it: without the formatter when nothing needs
/// escaping (rule and event names never do in practice).
pub(crate) fn push_quoted(out: &mut String, text: &str) {
    let plain = text
        .bytes()
        .all(|b| (b' '..0x7f).contains(&b) && b != b'"' && b != b'\\');
    if plain {
        out.push('"');
        out.push_str(text);
        out.push('"');
    } else {
        use std::fmt::Write as _;
        let _ = write!(out, "{text:?}");
    }
}

/// Joins parts into one string, allocated once; the parts marked `true` are quoted as by
/// [`push_quoted`].
pub(crate) fn concat_quoted(parts: &[(&str, bool)]) -> String {
    let mut text = String::with_capacity(
        parts
            .iter()
            .map(|(p, q)| p.len() + 2 * usize::from(*q))
            .sum(),
    );
    for (part, quote) in parts {
        if *quote {
            push_quoted(&mut text, part);
        } else {
            text.push_str(part);
        }
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
        assert_eq!(
            &*concat_shared(&["lead_status", " lead ", "42"]),
            "lead_status lead 42"
        );
        let long = "x".repeat(200);
        assert_eq!(&*concat_shared(&["a", &long]), format!("a{long}"));
    }

    #[test]
    fn quoting_matches_the_formatter() {
        for text in [
            "won",
            "nurture stages",
            "",
            "a \"b\"",
            "back\\slash",
            "tab\t",
            "ünï",
            "\u{7f}",
            "it's",
        ] {
            let mut out = String::from("rule ");
            push_quoted(&mut out, text);
            assert_eq!(out, format!("rule {text:?}"), "{text}");
            assert_eq!(
                concat_quoted(&[("a ", false), (text, true), (" b", false)]),
                format!("a {text:?} b")
            );
        }
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
