//! RFC 8785 JSON Canonicalization Scheme (JCS).
//!
//! Object members sorted by the UTF-16 code units of their names (RFC 8785 §3.2.3), no
//! insignificant white space, strings escaped as ECMAScript's `JSON.stringify` does
//! (§3.2.2.2), numbers in ECMAScript `Number.prototype.toString` form (§3.2.2.3, via
//! `ryu-js`). Checked against the project's JCS vectors (`core/tests/vectors.rs`).
//!
//! Hand-written because `serde_jcs` 0.1 sorts names by code point, which differs from
//! UTF-16 order once names mix supplementary-plane characters with U+E000–U+FFFF
//! (the vectors' `𠀋` before `Ａ`).

use std::cmp::Ordering;
use std::ops::Range;

use serde_json::{Number, Value};

/// The canonical bytes of a JSON value.
pub fn canonicalize(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    canonicalize_into(value, &mut out);
    out
}

/// Appends the canonical bytes of `value` to `out`.
pub fn canonicalize_into(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(number) => write_number(number, out),
        Value::String(text) => write_string(text, out),
        Value::Array(items) => {
            out.push(b'[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                canonicalize_into(item, out);
            }
            out.push(b']');
        }
        Value::Object(members) => write_object(members, None, None, out),
    }
}

/// Appends the canonical bytes of the object `members` without the member `skip`, and with
/// the value of member `replace.0` replaced by (or set to) `replace.1`: what signing needs
/// (a document without its proof), without cloning the object.
pub fn canonicalize_object_with(
    members: &serde_json::Map<String, Value>,
    skip: &str,
    replace: Option<(&str, &Value)>,
    out: &mut Vec<u8>,
) {
    write_object(members, Some(skip), replace, out);
}

/// The canonical bytes of the object `members` and where each member is in them, in order:
/// what [`canonical_members`] finds in those bytes, without scanning them again. A name is
/// spanned as written, escapes included (so it equals a plain name only when it has none).
pub fn canonicalize_object_members(
    members: &serde_json::Map<String, Value>,
) -> (Vec<u8>, Vec<MemberSpan>) {
    let mut out = Vec::with_capacity(2048);
    let mut spans = Vec::with_capacity(members.len());
    let members = members
        .iter()
        .map(|(name, value)| (name.as_str(), value))
        .collect();
    write_members(members, &mut out, Some(&mut spans));
    (out, spans)
}

/// [`canonicalize_object_with`], `skip` optional.
fn write_object(
    members: &serde_json::Map<String, Value>,
    skip: Option<&str>,
    replace: Option<(&str, &Value)>,
    out: &mut Vec<u8>,
) {
    if in_utf16_order(members, replace.map(|(name, _)| name)) {
        write_in_map_order(members, skip, replace, out);
        return;
    }
    let mut sorted: Vec<(&str, &Value)> = members
        .iter()
        .filter(|(name, _)| Some(name.as_str()) != skip)
        .map(|(name, value)| match replace {
            Some((replaced, with)) if name.as_str() == replaced => (name.as_str(), with),
            _ => (name.as_str(), value),
        })
        .collect();
    if let Some((replaced, with)) = replace
        && Some(replaced) != skip
        && !members.contains_key(replaced)
    {
        sorted.push((replaced, with));
    }
    write_members(sorted, out, None);
}

/// Whether the map iterates its names in RFC 8785 order already, so they need no sorting:
/// strictly ascending bytes (a `BTreeMap`, which is what `serde_json::Map` is without its
/// `preserve_order` feature) and no byte from 0xEE up. UTF-8 byte order is code point
/// order, which differs from UTF-16 order only between U+E000–U+FFFF (lead bytes 0xEE,
/// 0xEF) and supplementary characters (0xF0–0xF4); names without such bytes sort the same
/// both ways. Checked, not assumed, so another map order can never produce wrong bytes.
fn in_utf16_order(members: &serde_json::Map<String, Value>, extra: Option<&str>) -> bool {
    let plain = |name: &str| name.bytes().all(|byte| byte < 0xEE);
    let mut previous: Option<&str> = None;
    for name in members.keys() {
        if !plain(name) || previous.is_some_and(|previous| previous >= name.as_str()) {
            return false;
        }
        previous = Some(name);
    }
    extra.is_none_or(plain)
}

/// Writes the members in the map's own order (see [`in_utf16_order`]), leaving out `skip`
/// and putting `replace` in place of (or where it sorts among) the others.
fn write_in_map_order(
    members: &serde_json::Map<String, Value>,
    skip: Option<&str>,
    replace: Option<(&str, &Value)>,
    out: &mut Vec<u8>,
) {
    let mut pending = replace.filter(|(name, _)| Some(*name) != skip);
    let mut first = true;
    let mut member = |name: &str, value: &Value, out: &mut Vec<u8>| {
        if !first {
            out.push(b',');
        }
        first = false;
        write_string(name, out);
        out.push(b':');
        canonicalize_into(value, out);
    };
    out.push(b'{');
    for (name, value) in members {
        let name = name.as_str();
        if let Some((replaced, with)) = pending
            && replaced <= name
        {
            member(replaced, with, out);
            pending = None;
            if replaced == name {
                continue;
            }
        }
        if Some(name) == skip {
            continue;
        }
        member(name, value, out);
    }
    if let Some((replaced, with)) = pending {
        member(replaced, with, out);
    }
    out.push(b'}');
}

/// Writes object members sorted by name (UTF-16 order), recording where each one is in
/// `out` when `spans` is given.
fn write_members(
    mut members: Vec<(&str, &Value)>,
    out: &mut Vec<u8>,
    mut spans: Option<&mut Vec<MemberSpan>>,
) {
    members.sort_unstable_by(|a, b| compare_utf16(a.0, b.0));
    out.push(b'{');
    for (index, (name, item)) in members.into_iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        let name_at = out.len() + 1;
        write_string(name, out);
        let name_end = out.len() - 1;
        out.push(b':');
        let value_at = out.len();
        canonicalize_into(item, out);
        if let Some(spans) = spans.as_deref_mut() {
            spans.push(MemberSpan {
                name: name_at..name_end,
                value: value_at..out.len(),
            });
        }
    }
    out.push(b'}');
}

/// Orders strings by their UTF-16 code units without transcoding them.
///
/// Code point order and UTF-16 order agree except that a supplementary character (encoded
/// as a surrogate pair starting 0xD800–0xDBFF) sorts below U+E000–U+FFFF in UTF-16.
pub fn compare_utf16(a: &str, b: &str) -> Ordering {
    let unit = |c: char| {
        let code = u32::from(c);
        if code >= 0x1_0000 {
            0xD800 + ((code - 0x1_0000) >> 10)
        } else {
            code
        }
    };
    for (x, y) in a.chars().zip(b.chars()) {
        if x != y {
            // Equal leading units means both are surrogate pairs with the same high half;
            // then the low halves, like the code points, decide.
            return unit(x).cmp(&unit(y)).then(x.cmp(&y));
        }
    }
    a.len().cmp(&b.len())
}

/// Largest integer an IEEE 754 double holds exactly: beyond it JCS prints the double.
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

fn write_number(number: &Number, out: &mut Vec<u8>) {
    use std::io::Write as _;
    // Writing into a Vec cannot fail; `write!` saves the String `to_string` would allocate.
    if let Some(unsigned) = number.as_u64().filter(|n| *n <= MAX_SAFE_INTEGER) {
        let _ = write!(out, "{unsigned}");
    } else if let Some(signed) = number
        .as_i64()
        .filter(|n| n.unsigned_abs() <= MAX_SAFE_INTEGER)
    {
        let _ = write!(out, "{signed}");
    } else if let Some(float) = number.as_f64() {
        // ECMAScript prints -0 as "0"; ryu-js follows Number.prototype.toString.
        let float = if float == 0.0 { 0.0 } else { float };
        let mut buffer = ryu_js::Buffer::new();
        out.extend_from_slice(buffer.format_finite(float).as_bytes());
    }
}

fn write_string(text: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    let bytes = text.as_bytes();
    let mut start = 0;
    for (index, &byte) in bytes.iter().enumerate() {
        let escape: &[u8] = match byte {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..index]);
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(byte >> 4)]);
            out.push(HEX[usize::from(byte & 0xf)]);
        } else {
            out.extend_from_slice(escape);
        }
        start = index + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Whether bytes that parse as JSON are, as they stand, the canonical form of what they
/// parse to — proved by one pass over the bytes, without building or writing the value. A
/// mirror checks every entry of a catch-up for canonical form, and parsing the entry again
/// into bytes to compare was a tenth of that work.
///
/// Conservative: `true` is a proof, `false` only means "not shown here" (a fraction or an
/// exponent, an integer beyond 2⁵³ − 1, a name with an escape or a byte from 0xEE up, nesting
/// deeper than serde_json's 127 levels, or anything not canonical); the caller then
/// compares with [`canonicalize`]. It does not check UTF-8 or nesting as a parser does, so
/// callers parse the bytes with serde_json as well (as the registry's log entry decoder does):
/// bytes that are not JSON give `false` or a `true` that parse refuses.
pub fn is_canonical(bytes: &[u8]) -> bool {
    let mut scanner = Scanner {
        bytes,
        at: 0,
        members: None,
    };
    scanner.value(0) && scanner.at == bytes.len()
}

/// Where one member of an object's text is: its name (between the quotes) and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberSpan {
    /// The name's bytes, without the quotes.
    pub name: Range<usize>,
    /// The value's text.
    pub value: Range<usize>,
}

/// The text of the member `name` of the object `text` whose members are at `spans` (as
/// [`canonical_members`] or [`canonicalize_object_members`] give them), borrowed from it.
pub fn member_text<'t>(text: &'t str, spans: &[MemberSpan], name: &str) -> Option<&'t str> {
    spans
        .iter()
        .find(|span| text.as_bytes().get(span.name.clone()) == Some(name.as_bytes()))
        .and_then(|span| text.get(span.value.clone()))
}

/// [`is_canonical`] for an object, with where its members are, in order (so sorted by
/// name, each name once): one pass instead of proving the text canonical and then parsing
/// it to find them. `None` when `bytes` is not canonical or not an object. Like
/// [`is_canonical`], it does not check UTF-8.
pub fn canonical_members(bytes: &[u8]) -> Option<Vec<MemberSpan>> {
    if bytes.first() != Some(&b'{') {
        return None;
    }
    let mut scanner = Scanner {
        bytes,
        at: 0,
        members: Some(Vec::with_capacity(16)),
    };
    if scanner.value(0) && scanner.at == bytes.len() {
        scanner.members
    } else {
        None
    }
}

/// The cursor of [`is_canonical`].
struct Scanner<'b> {
    bytes: &'b [u8],
    at: usize,
    /// The top-level object's members, when asked for ([`canonical_members`]).
    members: Option<Vec<MemberSpan>>,
}

impl<'b> Scanner<'b> {
    /// serde_json's own nesting limit (127 levels parse, 128 do not).
    const MAX_DEPTH: usize = 127;

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        let matched = self.peek() == Some(byte);
        self.at += usize::from(matched);
        matched
    }

    fn literal(&mut self, word: &[u8]) -> bool {
        let matched = self.bytes[self.at..].starts_with(word);
        if matched {
            self.at += word.len();
        }
        matched
    }

    fn value(&mut self, depth: usize) -> bool {
        match self.peek() {
            Some(b'{') if depth < Self::MAX_DEPTH => self.object(depth + 1),
            Some(b'[') if depth < Self::MAX_DEPTH => self.array(depth + 1),
            Some(b'"') => self.string().is_some(),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => self.integer(),
            _ => false,
        }
    }

    fn object(&mut self, depth: usize) -> bool {
        self.at += 1;
        if self.eat(b'}') {
            return true;
        }
        let mut previous: Option<&'b [u8]> = None;
        loop {
            // A name with an escape or a byte from 0xEE up sorts differently as bytes than as
            // UTF-16 (see `in_utf16_order`): left to the caller.
            let Some(name) = self.string() else {
                return false;
            };
            if name.iter().any(|&byte| byte == b'\\' || byte >= 0xEE)
                || previous.is_some_and(|previous| previous >= name)
            {
                return false;
            }
            previous = Some(name);
            if !self.eat(b':') {
                return false;
            }
            let value_at = self.at;
            if !self.value(depth) {
                return false;
            }
            if depth == 1
                && let Some(members) = &mut self.members
            {
                let name_end = value_at - 2;
                members.push(MemberSpan {
                    name: name_end - name.len()..name_end,
                    value: value_at..self.at,
                });
            }
            if self.eat(b'}') {
                return true;
            }
            if !self.eat(b',') {
                return false;
            }
        }
    }

    fn array(&mut self, depth: usize) -> bool {
        self.at += 1;
        if self.eat(b']') {
            return true;
        }
        loop {
            if !self.value(depth) {
                return false;
            }
            if self.eat(b']') {
                return true;
            }
            if !self.eat(b',') {
                return false;
            }
        }
    }

    /// A string in the escapes [`write_string`] writes; its raw bytes between the quotes.
    fn string(&mut self) -> Option<&'b [u8]> {
        if !self.eat(b'"') {
            return None;
        }
        let start = self.at;
        loop {
            match self.peek()? {
                b'"' => {
                    self.at += 1;
                    let bytes: &'b [u8] = self.bytes;
                    return Some(&bytes[start..self.at - 1]);
                }
                b'\\' => {
                    let escape = self.bytes.get(self.at + 1..)?;
                    let length = match escape {
                        [b'"' | b'\\' | b'n' | b'r' | b't' | b'b' | b'f', ..] => 2,
                        [b'u', b'0', b'0', high @ (b'0' | b'1'), low, ..] => {
                            let low = match low {
                                b'0'..=b'9' => low - b'0',
                                b'a'..=b'f' => low - b'a' + 10,
                                _ => return None,
                            };
                            let code = (high - b'0') << 4 | low;
                            // These have the short forms above.
                            if matches!(code, 0x08 | 0x09 | 0x0a | 0x0c | 0x0d) {
                                return None;
                            }
                            6
                        }
                        _ => return None,
                    };
                    self.at += length;
                }
                0x00..=0x1f => return None,
                _ => self.at += 1,
            }
        }
    }

    /// An integer as JCS writes one: no sign on zero, no leading zero, at most 2⁵³ − 1.
    fn integer(&mut self) -> bool {
        let negative = self.eat(b'-');
        let start = self.at;
        while self.peek().is_some_and(|byte| byte.is_ascii_digit()) {
            self.at += 1;
        }
        let digits = &self.bytes[start..self.at];
        if matches!(self.peek(), Some(b'.' | b'e' | b'E')) || digits.is_empty() {
            return false;
        }
        if digits == b"0" {
            return !negative;
        }
        if digits[0] == b'0' || digits.len() > 16 {
            return false;
        }
        // 16 digits at most: fits a u64.
        let value = digits
            .iter()
            .fold(0u64, |value, digit| value * 10 + u64::from(digit - b'0'));
        value <= MAX_SAFE_INTEGER
    }
}

#[cfg(test)]
mod skip_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn object_with_a_member_skipped_or_replaced_equals_the_edited_copy() {
        let object = json!({"b": 1, "proof": {"x": [1, 2]}, "@context": ["a"], "é": "z"});
        let members = object.as_object().expect("object");
        let replacement = json!(["a", "b"]);
        let mut fast = Vec::new();
        canonicalize_object_with(
            members,
            "proof",
            Some(("@context", &replacement)),
            &mut fast,
        );
        let mut edited = members.clone();
        edited.remove("proof");
        edited.insert("@context".into(), replacement.clone());
        assert_eq!(fast, canonicalize(&Value::Object(edited)));
        let mut added = Vec::new();
        canonicalize_object_with(members, "b", Some(("new", &replacement)), &mut added);
        assert_eq!(
            added,
            canonicalize(
                &json!({"proof": {"x": [1, 2]}, "@context": ["a"], "é": "z", "new": ["a", "b"]})
            )
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn map_order_path_writes_what_sorting_writes() {
        let objects = [
            json!({}),
            json!({"b": 1, "a": [true, null], "@context": "c", "proof": {"z": 1, "y": 2}}),
            json!({"\u{ff21}": 1, "\u{2000b}": 2, "a": 3}),
            json!({"é": 1, "e": 2, "z": {"\u{e000}": 1, "\u{10000}": 2}}),
        ];
        let replacement = json!(["r"]);
        for object in &objects {
            let members = object.as_object().expect("object");
            for skip in [None, Some("proof"), Some("a"), Some("@context")] {
                for replace in [
                    None,
                    Some(("@context", &replacement)),
                    Some(("m", &replacement)),
                ] {
                    let mut fast = Vec::new();
                    write_object(members, skip, replace, &mut fast);
                    let mut edited = members.clone();
                    if let Some(skip) = skip {
                        edited.remove(skip);
                    }
                    if let Some((name, with)) = replace
                        && Some(name) != skip
                    {
                        edited.insert(name.to_owned(), with.clone());
                    }
                    let pairs: Vec<(&str, &Value)> = edited
                        .iter()
                        .map(|(name, value)| (name.as_str(), value))
                        .collect();
                    let mut slow = Vec::new();
                    write_members(pairs, &mut slow, None);
                    assert_eq!(fast, slow, "{object} skip {skip:?} replace {replace:?}");
                }
            }
        }
    }

    /// `is_canonical` may only say yes when writing the parsed value gives the same bytes.
    fn agrees_with_writing(bytes: &[u8]) -> bool {
        let proved = is_canonical(bytes);
        if proved && let Ok(value) = serde_json::from_slice::<Value>(bytes) {
            assert_eq!(
                String::from_utf8_lossy(&canonicalize(&value)),
                String::from_utf8_lossy(bytes),
                "proved canonical but is not"
            );
        }
        proved
    }

    #[test]
    fn the_scan_proves_canonical_bytes() {
        let deepest = format!("{}{}", "[".repeat(127), "]".repeat(127));
        assert!(
            serde_json::from_str::<Value>(&deepest).is_ok(),
            "serde_json's limit"
        );
        assert!(agrees_with_writing(deepest.as_bytes()));
        for text in [
            r#"{}"#,
            r#"[]"#,
            r#"{"@context":["a"],"a":{"b":[1,-2,0,9007199254740991]},"b":true,"c":null,"d":false}"#,
            "\"x\\n\\t\\\"\\\\\\u0001\\u001f\\b\\f\\r\u{7f}\u{2028}é\"",
            r#"{"A":1,"a":2,"aa":3,"b":"\u0000"}"#,
        ] {
            assert!(agrees_with_writing(text.as_bytes()), "{text}");
        }
    }

    #[test]
    fn the_scan_refuses_what_it_cannot_prove() {
        let deep = format!("{}{}", "[".repeat(128), "]".repeat(128));
        assert!(
            serde_json::from_str::<Value>(&deep).is_err(),
            "serde_json's limit"
        );
        for text in [
            r#"{"b":1,"a":2}"#,
            r#"{"a":1,"a":2}"#,
            r#"{"a": 1}"#,
            r#" {}"#,
            r#"{}x"#,
            r#"[-0]"#,
            r#"[01]"#,
            r#"[1.0]"#,
            r#"[1.5]"#,
            r#"[1e3]"#,
            r#"[9007199254740992]"#,
            r#"[12345678901234567]"#,
            r#"["\/"]"#,
            r#"["\u0041"]"#,
            r#"["\u000a"]"#,
            r#"["\u001F"]"#,
            "[\"\u{1}\"]",
            r#"{"\u0061":1}"#,
            "{\"\u{e000}\":1}",
            r#"[tru]"#,
            r#"[-]"#,
            r#"["open"#,
            r#"[1,]"#,
            r#"{"a":1,}"#,
            deep.as_str(),
        ] {
            assert!(!agrees_with_writing(text.as_bytes()), "{text}");
        }
    }

    #[test]
    fn the_scan_never_proves_a_wrong_byte_canonical() {
        let document = json!({
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "credentialSubject": {"name": "张三\n", "level": 3, "codes": [1, -20, 0]},
            "id": "urn:uuid:0191",
            "proof": {"proofValue": "z5x", "type": "DataIntegrityProof"},
            "type": ["VerifiableCredential"],
            "validFrom": "2026-01-01T00:00:00Z"
        });
        let canonical = canonicalize(&document);
        assert!(agrees_with_writing(&canonical));
        // Every single-byte change, to a set of bytes JSON gives meaning to: where the scan
        // still says yes, writing the parsed value must give the changed bytes.
        for at in 0..canonical.len() {
            for byte in *b" \"\\,:{}[]01-.eEnu\x1fa~" {
                let mut changed = canonical.clone();
                changed[at] = byte;
                agrees_with_writing(&changed);
            }
            agrees_with_writing(&[&canonical[..at], &canonical[at + 1..]].concat());
        }
    }

    #[test]
    fn canonical_members_are_where_the_members_are() {
        let document = json!({
            "@context": ["a", "b"],
            "credentialSubject": {"id": "x", "proof": {"nested": true}},
            "id": "urn:uuid:1",
            "proof": {"proofValue": "z5x"},
            "type": ["VerifiableCredential"],
            "n": -12,
            "é": null
        });
        let text = canonicalize(&document);
        let members = canonical_members(&text).expect("a canonical object");
        let object = document.as_object().expect("an object");
        assert_eq!(members.len(), object.len());
        for member in &members {
            let name = std::str::from_utf8(&text[member.name.clone()]).expect("UTF-8");
            assert_eq!(&text[member.value.clone()], canonicalize(&object[name]));
        }
        for text in [
            &br#"[1]"#[..],
            br#"{"b":1,"a":2}"#,
            br#"{"a":1}x"#,
            b"",
            br#""s""#,
        ] {
            assert_eq!(
                canonical_members(text),
                None,
                "{}",
                String::from_utf8_lossy(text)
            );
        }
        assert_eq!(canonical_members(b"{}"), Some(Vec::new()));
    }

    #[test]
    fn writing_with_member_spans_gives_the_canonical_bytes_and_the_scan_s_spans() {
        for document in [
            json!({}),
            json!({"a": 1}),
            json!({
                "@context": ["a", "b"],
                "credentialSubject": {"id": "x", "proof": {"nested": true}},
                "proof": {"proofValue": "z5x", "@context": ["a"]},
                "type": ["VerifiableCredential"],
                "n": 1.5e300,
                "é": null,
                "\u{e000}": 1,
                "\u{1f600}": 2,
                "tab\t": "quote\"",
            }),
        ] {
            let object = document.as_object().expect("an object");
            let (text, spans) = canonicalize_object_members(object);
            assert_eq!(text, canonicalize(&document), "{document}");
            assert_eq!(spans.len(), object.len());
            for span in &spans {
                let name: String =
                    serde_json::from_slice(&[b"\"", &text[span.name.clone()], b"\""].concat())
                        .expect("a JSON string");
                assert_eq!(&text[span.value.clone()], canonicalize(&object[&name]));
            }
            // Where the scan can prove the text canonical, it finds the same spans.
            if let Some(scanned) = canonical_members(&text) {
                assert_eq!(scanned, spans, "{document}");
            }
        }
    }

    #[test]
    fn the_scan_sees_every_byte_of_a_long_string() {
        // Every byte value at every place of strings of several lengths.
        for length in [7, 8, 9, 16, 23] {
            for at in 0..length {
                for byte in 0..=0x7fu8 {
                    let mut text = vec![b'"'];
                    text.extend(std::iter::repeat_n(b'a', length));
                    text[1 + at] = byte;
                    text.push(b'"');
                    let proved = agrees_with_writing(&text);
                    let plain = byte >= 0x20 && byte != b'"' && byte != b'\\';
                    assert_eq!(proved, plain, "byte {byte:#x} at {at} of {length}");
                }
                // A multi-byte character and an escape anywhere.
                let mut text = "\"".to_owned() + &"a".repeat(length) + "\"";
                text.insert_str(1 + at, "é\\n");
                assert!(agrees_with_writing(text.as_bytes()), "{text}");
            }
        }
    }

    fn canonical(json: &str) -> String {
        let value: Value = serde_json::from_str(json).expect("valid JSON");
        String::from_utf8(canonicalize(&value)).expect("UTF-8")
    }

    #[test]
    fn sorts_keys_and_drops_white_space() {
        assert_eq!(
            canonical(r#"{ "b": [1, 2], "a": {"d": null, "c": "x"} }"#),
            r#"{"a":{"c":"x","d":null},"b":[1,2]}"#
        );
    }

    #[test]
    fn escapes_like_json_stringify() {
        assert_eq!(
            canonical(r#""a\"b\\c\n\t\u0001\u001f\u007f\u2028/""#),
            "\"a\\\"b\\\\c\\n\\t\\u0001\\u001f\u{7f}\u{2028}/\""
        );
    }

    #[test]
    fn numbers_follow_ecmascript() {
        assert_eq!(
            canonical("[-0, 1.0, 9007199254740993, -5, 1e-7]"),
            "[0,1,9007199254740992,-5,1e-7]"
        );
    }

    #[test]
    fn utf16_order_puts_supplementary_before_high_bmp() {
        assert_eq!(compare_utf16("\u{2000b}", "\u{ff21}"), Ordering::Less);
        assert_eq!(compare_utf16("a", "ab"), Ordering::Less);
        assert_eq!(compare_utf16("\u{1f600}", "\u{1f601}"), Ordering::Less);
    }
}
