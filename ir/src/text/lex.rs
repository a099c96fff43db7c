//! Tokens of the text format.

/// A token and where it starts.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Token {
    pub kind: Tok,
    pub line: usize,
    pub col: usize,
}

/// Token kinds.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Tok {
    /// `%N`.
    Value(u32),
    /// An identifier or keyword.
    Ident(String),
    /// A number as written (integer or float, maybe signed, `inf`, `nan`).
    Number(String),
    /// A quoted string, unescaped.
    Str(String),
    /// One punctuation character.
    Punct(char),
    /// End of line.
    Newline,
}

/// Splits `text` into tokens; errors carry line and column.
pub(super) fn lex(text: &str) -> Result<Vec<Token>, (usize, usize, String)> {
    let mut out = Vec::new();
    for (li, line) in text.lines().enumerate() {
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            let col = i + 1;
            let at = |kind| Token {
                kind,
                line: li + 1,
                col,
            };
            if c.is_whitespace() {
                i += 1;
            } else if c == '%' {
                let start = i + 1;
                i = start;
                while i < chars.len() && chars[i].is_ascii_digit() {
                    i += 1;
                }
                let digits: String = chars[start..i].iter().collect();
                let n = digits
                    .parse()
                    .map_err(|_| (li + 1, col, "expected a value number after `%`".to_string()))?;
                out.push(at(Tok::Value(n)));
            } else if c == '"' {
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err((li + 1, col, "unterminated string".into())),
                        Some('"') => break,
                        Some('\\') => {
                            i += 1;
                            match chars.get(i) {
                                Some('n') => s.push('\n'),
                                Some('"') => s.push('"'),
                                Some('\\') => s.push('\\'),
                                Some('u') => {
                                    let close = chars[i..].iter().position(|&c| c == '}');
                                    let code = close.and_then(|end| {
                                        let hex: String = chars[i + 2..i + end].iter().collect();
                                        i += end;
                                        u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32)
                                    });
                                    s.push(code.ok_or((li + 1, i + 1, "bad \\u escape".to_string()))?);
                                }
                                _ => return Err((li + 1, i + 1, "unknown escape".into())),
                            }
                        }
                        Some(&ch) => s.push(ch),
                    }
                    i += 1;
                }
                i += 1;
                out.push(at(Tok::Str(s)));
            } else if c.is_ascii_digit()
                || (c == '-' && chars.get(i + 1).is_some_and(|n| n.is_ascii_digit() || *n == 'i'))
            {
                let start = i;
                i += 1;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric()
                        || chars[i] == '.'
                        || ((chars[i] == '-' || chars[i] == '+') && matches!(chars[i - 1], 'e' | 'E')))
                {
                    i += 1;
                }
                out.push(at(Tok::Number(chars[start..i].iter().collect())));
            } else if c.is_ascii_alphabetic() || c == '_' {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                out.push(at(match word.as_str() {
                    "inf" | "nan" | "NaN" => Tok::Number(word),
                    "_" => Tok::Punct('_'),
                    _ => Tok::Ident(word),
                }));
            } else if "=:,()[]{}".contains(c) {
                out.push(at(Tok::Punct(c)));
                i += 1;
            } else {
                return Err((li + 1, col, format!("unexpected character `{c}`")));
            }
        }
        out.push(Token {
            kind: Tok::Newline,
            line: li + 1,
            col: chars.len() + 1,
        });
    }
    Ok(out)
}
