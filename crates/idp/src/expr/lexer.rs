//! Tokens of the expression language.

use super::ExprError;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Token {
    Str(String),
    Int(i64),
    Ident(String),
    Dot,
    LParen,
    RParen,
    Comma,
    Plus,
    Question,
    Colon,
    EqEq,
    NotEq,
    And,
    Or,
    Bang,
}

/// A token and the column (1-based, in characters) where it starts.
pub(super) type Spanned = (Token, usize);

pub(super) fn tokenize(text: &str) -> Result<Vec<Spanned>, ExprError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let column = i + 1;
        let next = chars.get(i + 1).copied();
        let two = |t: Token| (t, 2);
        let (token, width) = match c {
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '.' => (Token::Dot, 1),
            '(' => (Token::LParen, 1),
            ')' => (Token::RParen, 1),
            ',' => (Token::Comma, 1),
            '+' => (Token::Plus, 1),
            '?' => (Token::Question, 1),
            ':' => (Token::Colon, 1),
            '=' if next == Some('=') => two(Token::EqEq),
            '!' if next == Some('=') => two(Token::NotEq),
            '!' => (Token::Bang, 1),
            '&' if next == Some('&') => two(Token::And),
            '|' if next == Some('|') => two(Token::Or),
            '"' | '\'' => {
                let (value, width) = string_literal(&chars, i)?;
                (Token::Str(value), width)
            }
            c if c.is_ascii_digit() => {
                let digits: String = chars.iter().skip(i).take_while(|c| c.is_ascii_digit()).collect();
                let value =
                    digits.parse().map_err(|_| ExprError::at(column, format!("the number {digits} is too large")))?;
                let width = digits.len();
                (Token::Int(value), width)
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let word: String =
                    chars.iter().skip(i).take_while(|c| c.is_ascii_alphanumeric() || **c == '_').collect();
                let width = word.chars().count();
                let token = match word.as_str() {
                    "AND" | "and" => Token::And,
                    "OR" | "or" => Token::Or,
                    _ => Token::Ident(word),
                };
                (token, width)
            }
            other => return Err(ExprError::at(column, format!("unexpected character {other:?}"))),
        };
        tokens.push((token, column));
        i += width;
    }
    Ok(tokens)
}

/// Reads a quoted string starting at `start`; returns its value and its width in characters.
fn string_literal(chars: &[char], start: usize) -> Result<(String, usize), ExprError> {
    let quote = chars.get(start).copied().unwrap_or('"');
    let mut value = String::new();
    let mut i = start + 1;
    loop {
        match chars.get(i) {
            None => return Err(ExprError::at(start + 1, "this string is not closed")),
            Some(&c) if c == quote => return Ok((value, i + 1 - start)),
            Some('\\') => {
                let escaped = match chars.get(i + 1) {
                    Some('n') => '\n',
                    Some('t') => '\t',
                    Some(&c @ ('\\' | '"' | '\'')) => c,
                    _ => return Err(ExprError::at(i + 1, "unknown escape: use \\\\, \\\", \\', \\n or \\t")),
                };
                value.push(escaped);
                i += 2;
            }
            Some(&c) => {
                value.push(c);
                i += 1;
            }
        }
    }
}
