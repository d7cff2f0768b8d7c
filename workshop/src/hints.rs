//! A step's hints (`hints.md`): one `## Level N: title` section per level, from the concept to
//! the code.

/// `(title, body)` per level, in order.
pub fn parse(text: &str) -> Vec<(String, String)> {
    let mut levels: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if let Some(heading) = line.strip_prefix("## Level ") {
            let title = heading.split_once(':').map_or(heading, |(_, t)| t).trim();
            levels.push((title.to_string(), String::new()));
        } else if let Some((_, body)) = levels.last_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    levels
}

#[cfg(test)]
mod tests {
    #[test]
    fn splits_levels() {
        let levels = super::parse("# Hints\n## Level 1: concept\nA\n## Level 2: command\nB\nC\n");
        assert_eq!(levels.len(), 2);
        assert_eq!(levels[1], ("command".to_string(), "B\nC\n".to_string()));
    }
}
