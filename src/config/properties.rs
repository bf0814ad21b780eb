//! Java properties syntax, as `java.util.Properties.load` reads it.
//!
//! What Apache accepts, this accepts: `#` and `!` comments, `=`, `:` or whitespace
//! between key and value, backslash escapes (`\t \n \r \f \uXXXX`, and `\x` for any
//! other `x`), and logical lines continued by an odd number of trailing backslashes
//! (leading whitespace of the continuation is dropped). The last occurrence of a key
//! wins, as in Java. Every entry remembers the line it started on, so an error can
//! name the file, the line and the key.
//!
//! One deliberate difference: Java decodes the file as ISO-8859-1. We decode UTF-8
//! when the file is valid UTF-8 (so a path with non-ASCII characters means what its
//! author typed), and fall back to ISO-8859-1 otherwise, which is exactly Java's
//! reading of such a file.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// A configuration problem, always naming where it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub file: PathBuf,
    /// 1-based line of the offending entry; 0 when the problem is not on one line
    /// (a missing required key, an unreadable file).
    pub line: usize,
    /// The key concerned, empty when the problem is not about one key.
    pub key: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
        }
        if !self.key.is_empty() {
            write!(f, ": {}", self.key)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// One key/value pair and the line its logical line started on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub value: String,
    pub line: usize,
}

/// The parsed contents of one properties file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Properties {
    pub file: PathBuf,
    entries: BTreeMap<String, Entry>,
}

impl Properties {
    /// Reads and parses a file.
    pub fn load(path: &Path) -> Result<Properties, ConfigError> {
        let bytes = std::fs::read(path).map_err(|err| ConfigError {
            file: path.to_path_buf(),
            line: 0,
            key: String::new(),
            message: format!("cannot read: {err}"),
        })?;
        Properties::parse(path, &decode_text(&bytes))
    }

    /// Parses text as if it had been read from `file` (used in error messages).
    pub fn parse(file: &Path, text: &str) -> Result<Properties, ConfigError> {
        let mut properties = Properties {
            file: file.to_path_buf(),
            entries: BTreeMap::new(),
        };
        for logical in logical_lines(text) {
            let (key, value) = split_key_value(&logical.text);
            let key =
                unescape(key).map_err(|message| properties.error_at(logical.line, "", &message))?;
            let value = unescape(value)
                .map_err(|message| properties.error_at(logical.line, &key, &message))?;
            properties.entries.insert(
                key,
                Entry {
                    value,
                    line: logical.line,
                },
            );
        }
        Ok(properties)
    }

    /// The value of `key`, as written (not trimmed).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.get(key).map(|entry| entry.value.as_str())
    }

    pub fn entry(&self, key: &str) -> Option<&Entry> {
        self.entries.get(key)
    }

    /// Sets a value, as `--override key=value` does; line 0 marks it as not from the file.
    pub fn set(&mut self, key: &str, value: &str) {
        self.entries.insert(
            key.to_string(),
            Entry {
                value: value.to_string(),
                line: 0,
            },
        );
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Entry)> {
        self.entries
            .iter()
            .map(|(key, entry)| (key.as_str(), entry))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// An error about `key`, located at the line it was defined on.
    pub fn error(&self, key: &str, message: impl Into<String>) -> ConfigError {
        let line = self.entries.get(key).map_or(0, |entry| entry.line);
        self.error_at(line, key, &message.into())
    }

    /// The trimmed value of `key` (both Apache servers trim values before use).
    pub fn get_trimmed(&self, key: &str) -> Option<&str> {
        self.get(key).map(str::trim)
    }

    /// Parses the trimmed value of `key` as a number; a bad value is an error naming
    /// the line and the key.
    pub fn get_number<T>(&self, key: &str) -> Result<Option<T>, ConfigError>
    where
        T: std::str::FromStr,
    {
        match self.get_trimmed(key) {
            None => Ok(None),
            Some(text) => text
                .parse::<T>()
                .map(Some)
                .map_err(|_| self.error(key, format!("expected a number, found {text:?}"))),
        }
    }

    /// Parses `true` / `false` (any case), as Kafka's ConfigDef does. ZooKeeper's
    /// `Boolean.parseBoolean` would read any other word as false; we refuse it
    /// instead, since such a value is almost always a typo.
    pub fn get_bool(&self, key: &str) -> Result<Option<bool>, ConfigError> {
        match self.get_trimmed(key) {
            None => Ok(None),
            Some(text) if text.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(text) if text.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(text) => Err(self.error(key, format!("expected true or false, found {text:?}"))),
        }
    }

    fn error_at(&self, line: usize, key: &str, message: &str) -> ConfigError {
        ConfigError {
            file: self.file.clone(),
            line,
            key: key.to_string(),
            message: message.to_string(),
        }
    }
}

fn decode_text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_string(),
        // ISO-8859-1: every byte is the code point of the same value.
        Err(_) => bytes.iter().map(|&byte| byte as char).collect(),
    }
}

struct LogicalLine {
    text: String,
    line: usize,
}

/// Splits text into logical lines: comments and blank lines dropped, continuations
/// joined, leading whitespace removed.
fn logical_lines(text: &str) -> Vec<LogicalLine> {
    let natural: Vec<&str> = split_natural_lines(text);
    let mut lines = Vec::new();
    let mut index = 0;
    while index < natural.len() {
        let start_line = index + 1;
        let first = trim_leading_whitespace(natural[index]);
        index += 1;
        if first.is_empty() || first.starts_with('#') || first.starts_with('!') {
            // Comment lines are never continued, even if they end in a backslash.
            continue;
        }
        let mut joined = String::new();
        let mut current = first;
        loop {
            if ends_with_odd_backslashes(current) {
                joined.push_str(&current[..current.len() - 1]);
                if index >= natural.len() {
                    break;
                }
                current = trim_leading_whitespace(natural[index]);
                index += 1;
            } else {
                joined.push_str(current);
                break;
            }
        }
        lines.push(LogicalLine {
            text: joined,
            line: start_line,
        });
    }
    lines
}

/// Natural lines end at `\n`, `\r` or `\r\n`.
fn split_natural_lines(text: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut position = 0;
    while position < bytes.len() {
        match bytes[position] {
            b'\n' => {
                lines.push(&text[start..position]);
                position += 1;
                start = position;
            }
            b'\r' => {
                lines.push(&text[start..position]);
                position += 1;
                if position < bytes.len() && bytes[position] == b'\n' {
                    position += 1;
                }
                start = position;
            }
            _ => position += 1,
        }
    }
    if start < bytes.len() {
        lines.push(&text[start..]);
    }
    lines
}

/// Java's whitespace in properties files: space, tab and form feed.
fn is_properties_whitespace(character: char) -> bool {
    matches!(character, ' ' | '\t' | '\x0c')
}

fn trim_leading_whitespace(line: &str) -> &str {
    line.trim_start_matches(is_properties_whitespace)
}

fn ends_with_odd_backslashes(line: &str) -> bool {
    line.bytes().rev().take_while(|&byte| byte == b'\\').count() % 2 == 1
}

/// Splits a logical line into its raw (still escaped) key and value.
fn split_key_value(line: &str) -> (&str, &str) {
    let mut chars = line.char_indices().peekable();
    let mut key_end = line.len();
    let mut escaped = false;
    let mut separator_seen = false;
    for (position, character) in chars.by_ref() {
        if escaped {
            escaped = false;
            continue;
        }
        if character == '\\' {
            escaped = true;
            continue;
        }
        if character == '=' || character == ':' {
            key_end = position;
            separator_seen = true;
            break;
        }
        if is_properties_whitespace(character) {
            key_end = position;
            break;
        }
    }
    let key = &line[..key_end];
    let mut rest = if separator_seen {
        &line[key_end + 1..]
    } else {
        &line[key_end..]
    };
    rest = trim_leading_whitespace(rest);
    if !separator_seen {
        // After whitespace, one `=` or `:` may still follow as the separator.
        if let Some(stripped) = rest.strip_prefix(['=', ':']) {
            rest = trim_leading_whitespace(stripped);
        }
    }
    (key, rest)
}

/// Resolves backslash escapes the way Java does.
fn unescape(raw: &str) -> Result<String, String> {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(character) = chars.next() {
        if character != '\\' {
            out.push(character);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\x0c'),
            Some('u') => {
                let digits: String = chars.by_ref().take(4).collect();
                let code = (digits.len() == 4)
                    .then(|| u32::from_str_radix(&digits, 16).ok())
                    .flatten()
                    .ok_or_else(|| "malformed \\uxxxx encoding".to_string())?;
                // A lone surrogate cannot be a Rust char; Java would keep it, but no
                // meaningful configuration value contains one.
                out.push(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER));
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Properties {
        Properties::parse(Path::new("test.properties"), text).expect("parses")
    }

    #[test]
    fn separators_and_whitespace() {
        let properties = parse("a=1\nb : 2\nc 3\n  d\t=\t4  \ne\nf:=x\ng = = y\n");
        assert_eq!(properties.get("a"), Some("1"));
        assert_eq!(properties.get("b"), Some("2"));
        assert_eq!(properties.get("c"), Some("3"));
        // Trailing whitespace of a value is kept, as in Java.
        assert_eq!(properties.get("d"), Some("4  "));
        assert_eq!(properties.get("e"), Some(""));
        assert_eq!(properties.get("f"), Some("=x"));
        assert_eq!(properties.get("g"), Some("= y"));
    }

    #[test]
    fn comments_blank_lines_and_line_numbers() {
        let properties = parse("# comment\n! also a comment\n\n   \nkey=value\n");
        assert_eq!(properties.len(), 1);
        assert_eq!(properties.entry("key").unwrap().line, 5);
    }

    #[test]
    fn continuation_lines() {
        let properties = parse("list=a,\\\n    b,\\\n\tc\nnext=1\n");
        assert_eq!(properties.get("list"), Some("a,b,c"));
        assert_eq!(properties.entry("list").unwrap().line, 1);
        assert_eq!(properties.entry("next").unwrap().line, 4);
    }

    #[test]
    fn even_backslashes_do_not_continue() {
        let properties = parse("path=C:\\\\\nother=2\n");
        assert_eq!(properties.get("path"), Some("C:\\"));
        assert_eq!(properties.get("other"), Some("2"));
    }

    #[test]
    fn comment_lines_are_not_continued() {
        let properties = parse("# comment \\\nkey=value\n");
        assert_eq!(properties.get("key"), Some("value"));
    }

    #[test]
    fn escapes() {
        let properties =
            parse("tab=a\\tb\nunicode=\\u4e2d\\u6587\nkey\\ with\\=odd\\:chars=v\nplain=\\q\n");
        assert_eq!(properties.get("tab"), Some("a\tb"));
        assert_eq!(properties.get("unicode"), Some("中文"));
        assert_eq!(properties.get("key with=odd:chars"), Some("v"));
        assert_eq!(properties.get("plain"), Some("q"));
    }

    #[test]
    fn malformed_unicode_escape_names_line_and_key() {
        let error = Properties::parse(Path::new("x.properties"), "ok=1\nbad=\\u12\n").unwrap_err();
        assert_eq!(error.line, 2);
        assert_eq!(error.key, "bad");
        assert_eq!(
            error.to_string(),
            "x.properties:2: bad: malformed \\uxxxx encoding"
        );
    }

    #[test]
    fn crlf_and_cr_line_ends() {
        let properties = parse("a=1\r\nb=2\rc=3");
        assert_eq!(properties.get("a"), Some("1"));
        assert_eq!(properties.get("b"), Some("2"));
        assert_eq!(properties.get("c"), Some("3"));
        assert_eq!(properties.entry("c").unwrap().line, 3);
    }

    #[test]
    fn last_occurrence_wins() {
        let properties = parse("a=1\na=2\n");
        assert_eq!(properties.get("a"), Some("2"));
        assert_eq!(properties.entry("a").unwrap().line, 2);
    }

    #[test]
    fn latin1_fallback() {
        assert_eq!(decode_text(&[b'a', 0xe9]), "aé");
        assert_eq!(decode_text("中".as_bytes()), "中");
    }
}
