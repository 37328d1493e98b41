//! What reaches the terminal: text from a server escaped and cut, and writes
//! to stdout and stderr that never panic when the reader has gone.

use std::io::{self, Write};

use unicode_general_category::{GeneralCategory, get_general_category};

/// Most characters of a server's message shown in one line.
pub const MESSAGE_LIMIT: usize = 300;

/// `text` with every character that is not plainly visible shown escaped
/// (`\u{1b}`, `\n`, `\u{200b}`): controls (C0 and C1), format characters
/// (bidirectional overrides, zero-width joiners, the BOM, the soft hyphen),
/// line and paragraph separators, and the other default-ignorable code
/// points (Hangul fillers, variation selectors), so server text can neither
/// forge output, drive the terminal, nor pass one name off as another
/// (`al\u{200b}ice` for `alice`).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if is_hidden(c) {
            // `\n`, `\t` and the like where Rust has a short form.
            let short: String = c.escape_debug().collect();
            if short.chars().count() > 1 {
                out.push_str(&short);
            } else {
                out.extend(c.escape_unicode());
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether `c` shows as nothing, or as something it is not.
fn is_hidden(c: char) -> bool {
    matches!(
        get_general_category(c),
        GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
    ) || is_default_ignorable(c)
}

/// Unicode's Default_Ignorable_Code_Point set (DerivedCoreProperties.txt),
/// beyond the format characters: what renders as nothing by default.
fn is_default_ignorable(c: char) -> bool {
    matches!(
        c,
        '\u{00ad}'
            | '\u{034f}'
            | '\u{061c}'
            | '\u{115f}'..='\u{1160}'
            | '\u{17b4}'..='\u{17b5}'
            | '\u{180b}'..='\u{180f}'
            | '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{206f}'
            | '\u{3164}'
            | '\u{fe00}'..='\u{fe0f}'
            | '\u{feff}'
            | '\u{ffa0}'
            | '\u{fff0}'..='\u{fff8}'
            | '\u{1bca0}'..='\u{1bca3}'
            | '\u{1d173}'..='\u{1d17a}'
            | '\u{e0000}'..='\u{e0fff}'
    )
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

/// Why output sent to standard output would be lost.
pub const STDOUT_DISCARDS: &str = "standard output is closed or /dev/null";

/// Whether standard output throws away what is written to it: closed when
/// the program started (Rust then puts /dev/null in its place) or sent to
/// /dev/null.
pub fn stdout_discards() -> bool {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        match io::stdout().as_fd().try_clone_to_owned() {
            Ok(fd) => is_dev_null(&std::fs::File::from(fd)),
            Err(_) => true,
        }
    }
    #[cfg(not(unix))]
    false
}

#[cfg(unix)]
fn is_dev_null(file: &std::fs::File) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata("/dev/null")) {
        (Ok(out), Ok(null)) => out.dev() == null.dev() && out.ino() == null.ino(),
        _ => false,
    }
}

/// Writes `text` and a newline to stdout and makes sure they left the
/// process, for output that must not be lost (a new key's secret): earlier
/// output is flushed, the bytes go by a direct write to a duplicate of the
/// standard output descriptor (Rust's stdout quietly drops writes to a
/// closed one), and a regular file is synced, so a full disk shows as an
/// error. A reader that went away is an error here, not a quiet end.
pub fn deliver(text: &str) -> io::Result<()> {
    io::stdout().lock().flush()?;
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        let mut file = std::fs::File::from(io::stdout().as_fd().try_clone_to_owned()?);
        if is_dev_null(&file) {
            return Err(io::Error::other(STDOUT_DISCARDS));
        }
        file.write_all(format!("{text}\n").as_bytes())?;
        if file.metadata()?.is_file() {
            file.sync_data()?;
        }
        Ok(())
    }
    #[cfg(not(unix))]
    {
        let mut out = io::stdout().lock();
        writeln!(out, "{text}")?;
        out.flush()
    }
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
        assert_eq!(escape("\u{85}next line"), "\\u{85}next line");
        assert_eq!(escape("café ✓ 日本 Ünïcödé"), "café ✓ 日本 Ünïcödé");
    }

    #[test]
    fn invisible_characters_are_escaped() {
        for (hidden, what) in [
            ('\u{200b}', "zero-width space"),
            ('\u{200d}', "zero-width joiner"),
            ('\u{feff}', "byte-order mark"),
            ('\u{061c}', "Arabic letter mark"),
            ('\u{00ad}', "soft hyphen"),
            ('\u{2028}', "line separator"),
            ('\u{2029}', "paragraph separator"),
            ('\u{3164}', "Hangul filler"),
            ('\u{ffa0}', "halfwidth Hangul filler"),
            ('\u{115f}', "Hangul choseong filler"),
            ('\u{fe0f}', "variation selector"),
            ('\u{e0041}', "tag character"),
            ('\u{2066}', "bidi isolate"),
        ] {
            let shown = escape(&format!("al{hidden}ice"));
            assert_ne!(shown, format!("al{hidden}ice"), "{what}");
            assert!(shown.starts_with("al\\u{"), "{what}: {shown}");
            assert!(shown.is_ascii(), "{what}: {shown}");
        }
    }

    #[test]
    fn long_text_is_cut_with_a_count() {
        assert_eq!(clip("abcdef", 4), "abcd… (2 more characters)");
        assert_eq!(clip("abc", 4), "abc");
        assert_eq!(clip("ééééé", 2), "éé… (3 more characters)");
    }
}
