//! Command lines written for a shell: `lab`'s script, and the corrected command lines the
//! usage errors suggest.

/// The words as one shell command line, each quoted where it needs it.
pub fn words<S: AsRef<str>>(words: &[S]) -> String {
    words
        .iter()
        .map(|w| {
            let w = w.as_ref();
            if !w.is_empty()
                && w.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./:=+,".contains(c))
            {
                w.to_string()
            } else {
                format!("'{}'", w.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_what_needs_it_is_quoted() {
        assert_eq!(
            super::words(&["sh", "-c", "echo it's > /tmp/x", "8080:80"]),
            "sh -c 'echo it'\\''s > /tmp/x' 8080:80"
        );
    }
}
