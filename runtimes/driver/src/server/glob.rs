//! [`Glob`]: a tiny case-insensitive pattern for whole addresses, as
//! policies and fault rules match them.

/// A case-insensitive glob over a whole address (without angle brackets;
/// the null sender is the empty string): `*` matches any run of
/// characters (also none), `?` exactly one; everything else matches
/// itself, compared case-insensitively.
///
/// ```
/// use mailwire_driver::server::Glob;
///
/// assert!(Glob::new("*@Example.ORG").matches("bob@example.org"));
/// assert!(Glob::new("tempfail@*").matches("TempFail@x.test"));
/// assert!(!Glob::new("bob").matches("bob@example.org"));
/// assert!(Glob::new("").matches(""));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    pattern: Vec<char>,
}

impl Glob {
    /// The pattern `text` (any string is a valid pattern).
    #[must_use]
    pub fn new(text: &str) -> Glob {
        Glob {
            pattern: text.chars().flat_map(char::to_lowercase).collect(),
        }
    }

    /// Whether the whole of `candidate` matches.
    #[must_use]
    pub fn matches(&self, candidate: &str) -> bool {
        let text: Vec<char> = candidate.chars().flat_map(char::to_lowercase).collect();
        let (p, t) = (&self.pattern, &text);
        let (mut pi, mut ti) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        while ti < t.len() {
            match p.get(pi) {
                Some('*') => {
                    star = Some((pi, ti));
                    pi += 1;
                }
                Some(&c) if c == '?' || c == t[ti] => {
                    pi += 1;
                    ti += 1;
                }
                _ => match star {
                    Some((sp, st)) => {
                        pi = sp + 1;
                        ti = st + 1;
                        star = Some((sp, st + 1));
                    }
                    None => return false,
                },
            }
        }
        p[pi..].iter().all(|&c| c == '*')
    }
}

#[cfg(test)]
mod tests {
    use super::Glob;

    #[test]
    fn whole_address_case_insensitive() {
        let g = Glob::new("*@Spam.example");
        assert!(g.matches("bob@spam.EXAMPLE"));
        assert!(!g.matches("bob@spam.example.org"));
        assert!(Glob::new("b?b@x").matches("BOB@x"));
        assert!(!Glob::new("bob").matches("bob@x"));
        assert!(Glob::new("*").matches(""));
        assert!(Glob::new("a*b*c").matches("aXXbYYc"));
        assert!(!Glob::new("a*b*c").matches("aXXbYY"));
    }
}
