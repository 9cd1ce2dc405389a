//! Writing header fields folded under 78 columns (RFC 5322 §2.2.3).

/// The column limit lines are folded under, where possible (RFC 5322
/// §2.1.1), not counting the line end.
pub(crate) const MAX_COLUMNS: usize = 78;

/// Writes `name ":"` and the `tokens`, each after one space, then
/// `line_end`.
///
/// Before a non-empty token that would take the line past
/// [`MAX_COLUMNS`], `line_end` is inserted in front of its space (folding:
/// unfolding gives back exactly the unfolded text). A token longer than a
/// line stays whole, so "where possible" is the promise. Tokens must not
/// hold CR or LF.
pub(crate) fn write_field<S: AsRef<str>>(
    name: &str,
    tokens: &[S],
    line_end: &[u8],
    out: &mut Vec<u8>,
) {
    write_field_iter(name, tokens.iter().map(AsRef::as_ref), line_end, out);
}

/// [`write_field`] over tokens from an iterator.
pub(crate) fn write_field_iter<'a>(
    name: &str,
    tokens: impl IntoIterator<Item = &'a str>,
    line_end: &[u8],
    out: &mut Vec<u8>,
) {
    out.extend_from_slice(name.as_bytes());
    out.push(b':');
    let mut column = name.len() + 1;
    let mut line_has_token = false;
    for token in tokens {
        if !token.is_empty() && line_has_token && column + 1 + token.len() > MAX_COLUMNS {
            out.extend_from_slice(line_end);
            column = 0;
        }
        out.push(b' ');
        out.extend_from_slice(token.as_bytes());
        column += 1 + token.len();
        line_has_token |= !token.is_empty();
    }
    out.extend_from_slice(line_end);
}

/// Writes `name ": " value` folded at its spaces (see [`write_field`]).
pub(crate) fn write_text_field(name: &str, value: &str, line_end: &[u8], out: &mut Vec<u8>) {
    let tokens: Vec<&str> = value.split(' ').collect();
    write_field(name, &tokens, line_end, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(name: &str, value: &str) -> String {
        let mut out = Vec::new();
        write_text_field(name, value, b"\r\n", &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn short_values_stay_on_one_line() {
        assert_eq!(text("Subject", "hello  world"), "Subject: hello  world\r\n");
        assert_eq!(text("X", ""), "X: \r\n");
        assert_eq!(text("X", "  lead"), "X:   lead\r\n");
    }

    #[test]
    fn long_values_fold_before_a_space_and_unfold_exactly() {
        let value = "word ".repeat(40);
        let value = value.trim_end();
        let out = text("Subject", value);
        for line in out.split("\r\n") {
            assert!(line.len() <= MAX_COLUMNS, "{line:?}");
        }
        assert!(out.lines().count() > 2);
        let unfolded = out.replace("\r\n ", " ");
        assert_eq!(unfolded, format!("Subject: {value}\r\n"));
    }

    #[test]
    fn a_long_token_is_never_split_and_never_left_alone() {
        let long = "x".repeat(100);
        assert_eq!(text("X", &long), format!("X: {long}\r\n"));
        assert_eq!(
            text("X", &format!("a {long}")),
            format!("X: a\r\n {long}\r\n")
        );
    }
}
