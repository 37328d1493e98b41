//! What reaches the terminal: text from a server escaped and cut, and writes
//! to stdout and stderr that never panic when the reader has gone.

use std::io::{self, Write};

/// Most characters of a server's message shown in one line.
pub const MESSAGE_LIMIT: usize = 300;

/// `text` with every control character shown escaped (`\u{1b}`, `\n`), and
/// the invisible characters that reorder text (bidirectional overrides)
/// too, so server text can neither forge output nor drive the terminal.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() || is_bidi_control(c) {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    out
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// At most `limit` characters of `text`, with a note of how many more there
/// were.
pub fn clip(text: &str, limit: usize) -> String {
    match text.char_indices().nth(limit) {
        None => text.to_owned(),
        Some((cut, _)) => {
            let rest = text[cut..].chars().count();
            format!("{}… ({rest} more characters)", &text[..cut])
        }
    }
}

/// Writes one line to stdout. A reader that has gone (`| head`) shows up
/// as a `BrokenPipe` error, which the caller turns into a quiet exit.
pub fn out_line(line: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()
}

/// Writes one escaped line to stderr; a closed stderr is ignored, since
/// there is nowhere left to report it.
pub fn note(line: &str) {
    let mut err = io::stderr().lock();
    let _ = writeln!(err, "{}", escape(line));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escape("a\u{1b}]0;pwned\u{7}b"), "a\\u{1b}]0;pwned\\u{7}b");
        assert_eq!(escape("line\nforged"), "line\\nforged");
        assert_eq!(escape("\u{202e}txt"), "\\u{202e}txt");
        assert_eq!(escape("café ✓"), "café ✓");
    }

    #[test]
    fn long_text_is_cut_with_a_count() {
        assert_eq!(clip("abcdef", 4), "abcd… (2 more characters)");
        assert_eq!(clip("abc", 4), "abc");
        assert_eq!(clip("ééééé", 2), "éé… (3 more characters)");
    }
}
