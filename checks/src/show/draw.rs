//! Plain box drawing: a titled box of lines, long lines wrapped at spaces.

/// A box `width` columns wide titled `title`; long lines wrap.
pub fn draw_box(title: &str, lines: &[String], width: usize) -> String {
    // Room inside: `│ ` and ` │` take four columns.
    let inner = width - 4;
    let mut out = String::new();
    let top = format!("┌─ {title} ");
    let fill = width.saturating_sub(top.chars().count() + 1);
    out.push_str(&format!("{top}{}┐\n", "─".repeat(fill)));
    for line in lines {
        let indent = line.chars().take_while(|c| *c == ' ').count() + 4;
        for piece in wrap(line, inner, indent) {
            let pad = inner.saturating_sub(piece.chars().count());
            out.push_str(&format!("│ {piece}{} │\n", " ".repeat(pad)));
        }
    }
    out.push_str(&format!("└{}┘\n", "─".repeat(width - 2)));
    out
}

/// Splits `line` into pieces of at most `width` columns, at spaces when it can; pieces after
/// the first are indented by `indent`.
pub fn wrap(line: &str, width: usize, indent: usize) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut rest: Vec<char> = line.chars().collect();
    let mut first = true;
    loop {
        let lead = if first { 0 } else { indent.min(width / 2) };
        let room = width - lead;
        if rest.len() <= room {
            pieces.push(format!(
                "{}{}",
                " ".repeat(lead),
                rest.iter().collect::<String>()
            ));
            return pieces;
        }
        let cut = (1..=room)
            .rev()
            .find(|&i| rest[i] == ' ' && rest[..i].iter().any(|c| *c != ' '))
            .unwrap_or(room);
        let piece: String = rest[..cut].iter().collect();
        pieces.push(format!("{}{}", " ".repeat(lead), piece.trim_end()));
        rest = rest[cut..]
            .iter()
            .copied()
            .skip_while(|c| *c == ' ')
            .collect();
        first = false;
        if rest.is_empty() {
            return pieces;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_wrap_inside_the_box() {
        assert_eq!(
            wrap("  aaaa bbbb cccc", 10, 4),
            ["  aaaa", "    bbbb", "    cccc"]
        );
        assert_eq!(
            wrap("x".repeat(12).as_str(), 10, 4),
            ["x".repeat(10), "    xx".into()]
        );
    }
}
