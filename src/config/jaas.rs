//! JAAS login configuration as Kafka and ZooKeeper read it: the `sasl.jaas.config` property form
//! (`Module flag key="value" ...;`) and the file form a broker gets through
//! `-Djava.security.auth.login.config` (`Section { Module flag key="value"; };`).
//!
//! Only the parts keel acts on are kept: each module's class name and options.
//! Values may be quoted (with `\` escaping the next character, as Java's
//! ConfigFile tokenizer does) or bare words.

use std::collections::BTreeMap;

/// One `Module flag options;` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginModule {
    pub class: String,
    pub flag: String,
    pub options: BTreeMap<String, String>,
}

impl LoginModule {
    /// The class name without its package (`PlainLoginModule`).
    pub fn simple_name(&self) -> &str {
        self.class.rsplit('.').next().unwrap_or(&self.class)
    }
}

/// Parses the property form: one or more modules, each ending in `;`.
pub fn parse_property(text: &str) -> Result<Vec<LoginModule>, String> {
    let tokens = tokenize(text)?;
    let mut cursor = 0;
    let modules = parse_modules(&tokens, &mut cursor, None)?;
    if cursor != tokens.len() {
        return Err(format!("unexpected {:?}", tokens[cursor]));
    }
    if modules.is_empty() {
        return Err("JAAS config entry not terminated by semi-colon".to_string());
    }
    Ok(modules)
}

/// Parses the file form into its sections, by name.
pub fn parse_file(text: &str) -> Result<BTreeMap<String, Vec<LoginModule>>, String> {
    let tokens = tokenize(text)?;
    let mut sections = BTreeMap::new();
    let mut cursor = 0;
    while cursor < tokens.len() {
        let Token::Word(name) = &tokens[cursor] else {
            return Err(format!(
                "expected a section name, found {:?}",
                tokens[cursor]
            ));
        };
        cursor += 1;
        expect(&tokens, &mut cursor, &Token::Open)?;
        let modules = parse_modules(&tokens, &mut cursor, Some(&Token::Close))?;
        expect(&tokens, &mut cursor, &Token::Close)?;
        expect(&tokens, &mut cursor, &Token::Semicolon)?;
        sections.insert(name.clone(), modules);
    }
    Ok(sections)
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Quoted(String),
    Equals,
    Semicolon,
    Open,
    Close,
}

fn expect(tokens: &[Token], cursor: &mut usize, wanted: &Token) -> Result<(), String> {
    match tokens.get(*cursor) {
        Some(token) if token == wanted => {
            *cursor += 1;
            Ok(())
        }
        other => Err(format!("expected {wanted:?}, found {other:?}")),
    }
}

fn parse_modules(
    tokens: &[Token],
    cursor: &mut usize,
    end: Option<&Token>,
) -> Result<Vec<LoginModule>, String> {
    let mut modules = Vec::new();
    while *cursor < tokens.len() && Some(&tokens[*cursor]) != end {
        let Token::Word(class) = &tokens[*cursor] else {
            return Err(format!(
                "expected a login module class, found {:?}",
                tokens[*cursor]
            ));
        };
        let Some(Token::Word(flag)) = tokens.get(*cursor + 1) else {
            return Err(format!("login module {class} has no control flag"));
        };
        *cursor += 2;
        let mut options = BTreeMap::new();
        loop {
            match tokens.get(*cursor) {
                Some(Token::Semicolon) => {
                    *cursor += 1;
                    break;
                }
                Some(Token::Word(key)) => {
                    expect(tokens, cursor, &Token::Word(key.clone()))?;
                    expect(tokens, cursor, &Token::Equals)?;
                    let value = match tokens.get(*cursor) {
                        Some(Token::Word(value) | Token::Quoted(value)) => value.clone(),
                        other => return Err(format!("option {key} has no value ({other:?})")),
                    };
                    *cursor += 1;
                    options.insert(key.clone(), value);
                }
                None => return Err("JAAS config entry not terminated by semi-colon".to_string()),
                Some(other) => return Err(format!("unexpected {other:?} in module {class}")),
            }
        }
        modules.push(LoginModule {
            class: class.clone(),
            flag: flag.to_ascii_lowercase(),
            options,
        });
    }
    Ok(modules)
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            '=' => tokens.push(Token::Equals),
            ';' => tokens.push(Token::Semicolon),
            '{' => tokens.push(Token::Open),
            '}' => tokens.push(Token::Close),
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut previous = ' ';
                let mut closed = false;
                for c in chars.by_ref() {
                    if previous == '*' && c == '/' {
                        closed = true;
                        break;
                    }
                    previous = c;
                }
                if !closed {
                    return Err("unterminated comment".to_string());
                }
            }
            '"' | '\'' => {
                let quote = c;
                let mut value = String::new();
                let mut closed = false;
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => match chars.next() {
                            Some(escaped) => value.push(escaped),
                            None => break,
                        },
                        c if c == quote => {
                            closed = true;
                            break;
                        }
                        c => value.push(c),
                    }
                }
                if !closed {
                    return Err("unterminated quoted value".to_string());
                }
                tokens.push(Token::Quoted(value));
            }
            c => {
                let mut word = String::from(c);
                while let Some(&next) = chars.peek() {
                    if next.is_whitespace() || "=;{}\"'".contains(next) {
                        break;
                    }
                    word.push(next);
                    chars.next();
                }
                tokens.push(Token::Word(word));
            }
        }
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn property_form_with_users() {
        let modules = parse_property(
            r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_alice=alice;"#,
        )
        .unwrap();
        assert_eq!(modules.len(), 1);
        assert_eq!(modules[0].simple_name(), "PlainLoginModule");
        assert_eq!(modules[0].flag, "required");
        assert_eq!(modules[0].options["user_alice"], "alice");
        assert_eq!(modules[0].options["password"], "admin-secret");
        assert!(parse_property("org.x.ScramLoginModule required").is_err());
        assert!(parse_property("").is_err());
        assert!(parse_property(r#"M required a="unterminated;"#).is_err());
    }

    #[test]
    fn file_form_sections_and_comments() {
        let sections = parse_file(
            "// broker\nKafkaServer {\n  org.apache.kafka.common.security.plain.PlainLoginModule required\n  username=\"a\" /* c */ password=\"p\\\"q\"\n  user_a=\"p\";\n};\nClient { org.apache.zookeeper.server.auth.DigestLoginModule required username=\"k\" password=\"s\"; };\n",
        )
        .unwrap();
        assert_eq!(sections["KafkaServer"][0].options["password"], "p\"q");
        assert_eq!(sections["Client"][0].options["username"], "k");
        assert!(parse_file("KafkaServer { M required; }").is_err());
    }
}
