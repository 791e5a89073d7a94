//! A secret is a type: its `Debug` and `Display` print stars, so no log line,
//! error or report can leak it by accident. Only `expose()` gives the value.

use std::fmt;

#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

pub const MASK: &str = "****";

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The raw value, for handing to a client builder and nothing else.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

/// Scrubs known secret values (and their percent-encoded forms) out of text
/// that came from elsewhere, such as an HTTP client error that echoes a URL
/// carrying a SAS token. A last line of defence: secrets are never formatted
/// on purpose.
#[derive(Clone, Default)]
pub struct Redactor {
    needles: Vec<String>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redactor({} secrets)", self.needles.len())
    }
}

impl Redactor {
    pub fn add(&mut self, secret: &Secret) {
        let raw = secret.expose();
        // Very short values would blank out ordinary words; they are not
        // credentials any store accepts.
        if raw.len() < 4 {
            return;
        }
        let mut forms = vec![raw.to_string()];
        let encoded: String = url::form_urlencoded::byte_serialize(raw.as_bytes()).collect();
        forms.push(encoded.replace('+', "%20"));
        forms.push(encoded);
        // A SAS token is a query string: each signature part is secret too.
        for part in raw.trim_start_matches('?').split('&') {
            if let Some((_, v)) = part.split_once('=') {
                if v.len() >= 8 {
                    forms.push(v.to_string());
                }
            }
        }
        for f in forms {
            if !self.needles.contains(&f) {
                self.needles.push(f);
            }
        }
        // Longest first, so a value is replaced before any of its parts.
        self.needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
    }

    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for n in &self.needles {
            if !out.contains(n.as_str()) {
                continue;
            }
            out = if n.len() >= SHORT {
                out.replace(n.as_str(), MASK)
            } else {
                replace_whole_words(&out, n)
            };
        }
        redact_signature_params(&out)
    }
}

/// Below this length a secret is masked only where it stands alone, so a
/// test secret like `test` does not mangle the word "latest".
const SHORT: usize = 12;

fn replace_whole_words(text: &str, needle: &str) -> String {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find(needle) {
        let before_ok = rest[..pos].chars().next_back().is_none_or(|c| !is_word(c));
        let after = &rest[pos + needle.len()..];
        let after_ok = after.chars().next().is_none_or(|c| !is_word(c));
        out.push_str(&rest[..pos]);
        out.push_str(if before_ok && after_ok { MASK } else { needle });
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Masks `sig=` and similar signed-URL parameters whatever their origin.
fn redact_signature_params(text: &str) -> String {
    const PARAMS: [&str; 4] = [
        "sig=",
        "X-Amz-Signature=",
        "X-Amz-Security-Token=",
        "X-Goog-Signature=",
    ];
    let mut out = text.to_string();
    for p in PARAMS {
        let mut search_from = 0;
        while let Some(pos) = out[search_from..].find(p) {
            let start = search_from + pos + p.len();
            let end = out[start..]
                .find(['&', ' ', ')', '"', '\''])
                .map(|e| start + e)
                .unwrap_or(out.len());
            if end > start && &out[start..end] != MASK {
                out.replace_range(start..end, MASK);
            }
            search_from = start + MASK.len().min(out.len() - start);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_formats() {
        let s = Secret::new("hunter2-very-secret");
        assert_eq!(format!("{s:?} {s}"), "**** ****");
        assert_eq!(s.expose(), "hunter2-very-secret");
    }

    #[test]
    fn redactor_scrubs_raw_encoded_and_sas_parts() {
        let mut r = Redactor::default();
        r.add(&Secret::new("abc/def+ghi="));
        r.add(&Secret::new("sv=2021-01-01&ss=b&sig=SIGNATUREVALUE123"));
        let text =
            "failed: key abc/def+ghi= and abc%2Fdef%2Bghi%3D and url?x=1&sig=SIGNATUREVALUE123&y=2";
        let out = r.redact(text);
        assert!(!out.contains("abc/def+ghi="), "{out}");
        assert!(!out.contains("abc%2Fdef%2Bghi%3D"), "{out}");
        assert!(!out.contains("SIGNATUREVALUE123"), "{out}");
    }

    #[test]
    fn short_secrets_are_masked_only_as_whole_words() {
        let mut r = Redactor::default();
        r.add(&Secret::new("test"));
        assert_eq!(r.redact("latest key=test."), "latest key=****.");
    }

    #[test]
    fn signature_params_masked_without_known_secret() {
        let r = Redactor::default();
        let out = r.redact("GET http://h/b/o?X-Amz-Signature=deadbeef&x=1 failed");
        assert_eq!(out, "GET http://h/b/o?X-Amz-Signature=****&x=1 failed");
    }
}
