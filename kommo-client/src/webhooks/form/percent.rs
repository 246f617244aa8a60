//! Percent-decoding of `application/x-www-form-urlencoded` components: `+` is a space,
//! `%XX` a byte, and a `%` not followed by two hex digits stays as it is.

/// The value of a hex digit, or 0xff.
const HEX_VALUE: [u8; 256] = {
    let mut table = [0xffu8; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        table[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

/// Decodes one `application/x-www-form-urlencoded` component (`+` is a space) into `out`,
/// copying the runs between escapes in one go.
pub(super) fn percent_decode_into(input: &[u8], out: &mut Vec<u8>) {
    out.reserve(input.len());
    let mut rest = input;
    while let Some(at) = memchr::memchr2(b'%', b'+', rest) {
        out.extend_from_slice(&rest[..at]);
        if rest[at] == b'+' {
            out.push(b' ');
            rest = &rest[at + 1..];
            continue;
        }
        let hi = rest
            .get(at + 1)
            .map_or(0xff, |&b| HEX_VALUE[usize::from(b)]);
        let lo = rest
            .get(at + 2)
            .map_or(0xff, |&b| HEX_VALUE[usize::from(b)]);
        if hi != 0xff && lo != 0xff {
            out.push(hi << 4 | lo);
            rest = &rest[at + 3..];
        } else {
            // A `%` not followed by two hex digits is kept as it is.
            out.push(b'%');
            rest = &rest[at + 1..];
        }
    }
    out.extend_from_slice(rest);
}

/// Decodes one component into a new buffer.
pub(super) fn percent_decode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    percent_decode_into(input, &mut out);
    out
}

/// Decodes a value; most values have nothing to decode and are copied once. `body` is the
/// whole body when it is valid UTF-8, of which `raw` is a part.
pub(super) fn decode_value(raw: &[u8], body: Option<&str>) -> Result<String, std::str::Utf8Error> {
    if memchr::memchr2(b'%', b'+', raw).is_none() {
        if let Some(body) = body {
            // `raw` lies between ASCII delimiters of `body`, so these are char boundaries.
            // (An empty `raw` may point anywhere; any slice of length 0 is then right.)
            let start = raw.as_ptr().addr().wrapping_sub(body.as_ptr().addr());
            if let Some(value) = start
                .checked_add(raw.len())
                .and_then(|end| body.get(start..end))
            {
                return Ok(value.to_owned());
            }
        }
        return std::str::from_utf8(raw).map(str::to_owned);
    }
    String::from_utf8(percent_decode(raw)).map_err(|e| e.utf8_error())
}
