//! Personal data in log lines: contact emails are masked (`a***@example.com`) unless the
//! operator asks for them.

use std::borrow::Cow;

/// How contact emails appear in the runtime's log lines (the outbox keeps them whole: it needs
/// them to do the work, and the operator's CLI shows them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum EmailsInLogs {
    /// `ana.silva@example.com` is logged as `a***@example.com` (the default).
    #[default]
    Masked,
    /// Logged as they are.
    Full,
}

impl EmailsInLogs {
    /// `text` as it may be logged.
    pub fn apply(self, text: &str) -> Cow<'_, str> {
        match self {
            EmailsInLogs::Masked => mask_emails(text),
            EmailsInLogs::Full => Cow::Borrowed(text),
        }
    }
}

/// Characters of an email's local part (RFC 5322 `atext` and the dot).
fn is_local(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b".!#$%&'*+/=?^_`{|}~-".contains(&c)
}

/// Characters of an email's domain.
fn is_domain(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-' || c == b'.'
}

/// Replaces the local part of every email in `text` but its first character with `***`:
/// `contact ana.silva@example.com upserted` becomes `contact a***@example.com upserted`. An
/// email is a non-empty run of local-part characters, `@`, and a domain holding a dot; the
/// domain is kept, so a log still tells which company a contact belongs to.
pub fn mask_emails(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut masked: Option<String> = None;
    // Where the text not yet copied into `masked` starts.
    let mut copied = 0;
    let mut at = 0;
    while let Some(offset) = find_at(bytes, at) {
        let sign = at + offset;
        at = sign + 1;
        let start = bytes[copied..sign]
            .iter()
            .rposition(|&c| !is_local(c))
            .map_or(copied, |p| copied + p + 1);
        let domain_end = bytes[sign + 1..]
            .iter()
            .position(|&c| !is_domain(c))
            .map_or(bytes.len(), |p| sign + 1 + p);
        let domain = &text[sign + 1..domain_end];
        let domain = domain.trim_end_matches('.');
        if start == sign || !domain.contains('.') || domain.starts_with('.') {
            continue;
        }
        let out = masked.get_or_insert_with(|| String::with_capacity(text.len()));
        // The local part is ASCII, so its first byte is a whole character.
        out.push_str(&text[copied..start + 1]);
        out.push_str("***");
        copied = sign;
    }
    match masked {
        None => Cow::Borrowed(text),
        Some(mut out) => {
            out.push_str(&text[copied..]);
            Cow::Owned(out)
        }
    }
}

fn find_at(bytes: &[u8], from: usize) -> Option<usize> {
    bytes.get(from..)?.iter().position(|&c| c == b'@')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking_table() {
        let table = [
            ("", ""),
            ("no email here", "no email here"),
            (
                "contact ana.silva@example.com upserted in Loops",
                "contact a***@example.com upserted in Loops",
            ),
            ("a@example.com", "a***@example.com"),
            (
                "event won sent for Bob+crm@mail.example.co.uk.",
                "event won sent for B***@mail.example.co.uk.",
            ),
            ("two: x1@a.io, y2@b.io", "two: x***@a.io, y***@b.io"),
            ("(zoe@corp.example)", "(z***@corp.example)"),
            // Not emails: no local part, no dot in the domain, a dot first.
            ("@example.com", "@example.com"),
            ("user@localhost", "user@localhost"),
            ("a@.com", "a@.com"),
            ("a @ b.com", "a @ b.com"),
            ("ünïcode ü@example.com é", "ünïcode ü@example.com é"),
            ("é@x.io ok@x.io", "é@x.io o***@x.io"),
            ("a@b@c.io", "a@b***@c.io"),
        ];
        for (text, expected) in table {
            assert_eq!(mask_emails(text), expected, "{text:?}");
        }
        assert!(matches!(mask_emails("nothing"), Cow::Borrowed(_)));
        assert_eq!(
            EmailsInLogs::Full.apply("ana@example.com"),
            "ana@example.com"
        );
        assert_eq!(
            EmailsInLogs::default().apply("ana@example.com"),
            "a***@example.com"
        );
    }

    proptest::proptest! {
        #[test]
        fn never_shows_a_local_part_and_is_stable(
            prefix in "[ a-z(]{0,8}",
            local in "[a-z0-9._+-]{2,20}",
            domain in "[a-z0-9-]{1,10}\\.[a-z]{2,6}",
            suffix in "[ ,.)a-z]{0,8}",
        ) {
            let text = format!("{prefix}{local}@{domain}{suffix}");
            let masked = mask_emails(&text).into_owned();
            let shown = format!("{local}@{domain}");
            proptest::prop_assert!(!masked.contains(&shown), "{masked}");
            proptest::prop_assert!(masked.contains(&format!("***@{domain}")), "{masked}");
            proptest::prop_assert_eq!(mask_emails(&masked).into_owned(), masked.clone());
        }

        #[test]
        fn any_text_is_handled(text in "\\PC{0,64}") {
            let masked = mask_emails(&text);
            if !text.contains('@') {
                proptest::prop_assert_eq!(masked.as_ref(), text.as_str());
            }
        }
    }
}
