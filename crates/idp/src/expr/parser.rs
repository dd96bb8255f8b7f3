//! Recursive-descent parser and type checker. Precedence, loosest first:
//! `?:`, `||`, `&&`, `==`/`!=`, `+`, `!`, primary.

use regex::Regex;

use super::lexer::{Spanned, Token};
use super::{Attributes, ExprError, MAX_DEPTH, MAX_NODES, Type, Value};

#[derive(Debug, Clone)]
pub(super) struct Expr {
    pub node: Node,
    pub ty: Type,
    pub column: usize,
}

#[derive(Debug, Clone)]
pub(super) enum Node {
    Literal(Value),
    UserAttribute(String),
    Concat(Box<Expr>, Box<Expr>),
    Equals { left: Box<Expr>, right: Box<Expr>, negated: bool },
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Conditional(Box<Expr>, Box<Expr>, Box<Expr>),
    Call(Function, Vec<Expr>),
}

#[derive(Debug, Clone)]
pub(super) enum Function {
    ToLowerCase,
    ToUpperCase,
    SubstringBefore,
    SubstringAfter,
    Replace(Regex),
    Len,
    StringContains,
    Join,
    ArraysContains,
    ArraysSize,
    ArraysIsEmpty,
    ArraysToCsvString,
    IsMemberOfGroupName,
    IsMemberOfAnyGroup,
    GroupsStartsWith,
    GroupsContains,
}

/// Argument types (`None` = repeat the last one any number of times ≥ 1) and the result.
struct Signature {
    args: &'static [Type],
    variadic: bool,
    result: Type,
}

impl Function {
    fn lookup(namespace: Option<&str>, name: &str) -> Option<fn() -> Function> {
        Some(match (namespace, name) {
            (Some("String"), "toLowerCase") => || Function::ToLowerCase,
            (Some("String"), "toUpperCase") => || Function::ToUpperCase,
            (Some("String"), "substringBefore") => || Function::SubstringBefore,
            (Some("String"), "substringAfter") => || Function::SubstringAfter,
            (Some("String"), "len") => || Function::Len,
            (Some("String"), "stringContains") => || Function::StringContains,
            (Some("String"), "join") => || Function::Join,
            (Some("Arrays"), "contains") => || Function::ArraysContains,
            (Some("Arrays"), "size") => || Function::ArraysSize,
            (Some("Arrays"), "isEmpty") => || Function::ArraysIsEmpty,
            (Some("Arrays"), "toCsvString") => || Function::ArraysToCsvString,
            (None, "isMemberOfGroupName") => || Function::IsMemberOfGroupName,
            (None, "isMemberOfAnyGroup") => || Function::IsMemberOfAnyGroup,
            (Some("Groups"), "startsWith") => || Function::GroupsStartsWith,
            (Some("Groups"), "contains") => || Function::GroupsContains,
            _ => return None,
        })
    }

    fn signature(&self) -> Signature {
        use Type::*;
        let sig = |args: &'static [Type], variadic, result| Signature { args, variadic, result };
        match self {
            Function::ToLowerCase | Function::ToUpperCase => sig(&[String], false, String),
            Function::SubstringBefore | Function::SubstringAfter => sig(&[String, String], false, String),
            Function::Replace(_) => sig(&[String, String, String], false, String),
            Function::Len => sig(&[String], false, Integer),
            Function::StringContains => sig(&[String, String], false, Boolean),
            Function::Join => sig(&[String, String], true, String),
            Function::ArraysContains => sig(&[List, String], false, Boolean),
            Function::ArraysSize => sig(&[List], false, Integer),
            Function::ArraysIsEmpty => sig(&[List], false, Boolean),
            Function::ArraysToCsvString => sig(&[List], false, String),
            Function::IsMemberOfGroupName => sig(&[String], false, Boolean),
            Function::IsMemberOfAnyGroup => sig(&[String], true, Boolean),
            Function::GroupsStartsWith | Function::GroupsContains => sig(&[String, String, Integer], false, List),
        }
    }
}

struct Parser<'a> {
    tokens: &'a [Spanned],
    at: usize,
    nodes: usize,
    depth: usize,
    attributes: &'a dyn Attributes,
    end_column: usize,
}

pub(super) fn parse(tokens: &[Spanned], attributes: &dyn Attributes) -> Result<Expr, ExprError> {
    let end_column = tokens.last().map(|(_, c)| c + 1).unwrap_or(1);
    let mut parser = Parser { tokens, at: 0, nodes: 0, depth: 0, attributes, end_column };
    if tokens.is_empty() {
        return Err(ExprError::at(1, "the expression is empty"));
    }
    let expr = parser.conditional()?;
    if let Some((token, column)) = parser.peek_spanned() {
        return Err(ExprError::at(column, format!("unexpected {} after the end of the expression", describe(&token))));
    }
    Ok(expr)
}

fn describe(token: &Token) -> String {
    match token {
        Token::Str(s) => format!("string {s:?}"),
        Token::Int(i) => format!("number {i}"),
        Token::Ident(name) => format!("name {name:?}"),
        Token::Dot => "'.'".into(),
        Token::LParen => "'('".into(),
        Token::RParen => "')'".into(),
        Token::Comma => "','".into(),
        Token::Plus => "'+'".into(),
        Token::Question => "'?'".into(),
        Token::Colon => "':'".into(),
        Token::EqEq => "'=='".into(),
        Token::NotEq => "'!='".into(),
        Token::And => "'&&'".into(),
        Token::Or => "'||'".into(),
        Token::Bang => "'!'".into(),
    }
}

fn accepts(expected: Type, actual: Type) -> bool {
    expected == actual || actual == Type::Null
}

impl Parser<'_> {
    fn peek_spanned(&self) -> Option<(Token, usize)> {
        self.tokens.get(self.at).cloned()
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at).map(|(t, _)| t)
    }

    fn column(&self) -> usize {
        self.tokens.get(self.at).map(|(_, c)| *c).unwrap_or(self.end_column)
    }

    fn eat(&mut self, token: &Token) -> bool {
        if self.peek() == Some(token) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, token: &Token) -> Result<(), ExprError> {
        if self.eat(token) {
            return Ok(());
        }
        let found = match self.peek() {
            Some(t) => describe(t),
            None => "the end of the expression".into(),
        };
        Err(ExprError::at(self.column(), format!("expected {} but found {found}", describe(token))))
    }

    fn make(&mut self, node: Node, ty: Type, column: usize) -> Result<Expr, ExprError> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(ExprError::at(column, format!("the expression is too complex (more than {MAX_NODES} parts)")));
        }
        Ok(Expr { node, ty, column })
    }

    fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T, ExprError>) -> Result<T, ExprError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ExprError::at(self.column(), format!("the expression nests deeper than {MAX_DEPTH} levels")));
        }
        let result = f(self);
        self.depth -= 1;
        result
    }

    fn conditional(&mut self) -> Result<Expr, ExprError> {
        self.nested(|p| {
            let condition = p.or()?;
            if !p.eat(&Token::Question) {
                return Ok(condition);
            }
            p.require(&condition, Type::Boolean, "the condition before '?'")?;
            let then = p.conditional()?;
            p.expect(&Token::Colon)?;
            let otherwise = p.conditional()?;
            let ty = match (then.ty, otherwise.ty) {
                (a, b) if a == b => a,
                (Type::Null, b) => b,
                (a, Type::Null) => a,
                (a, b) => {
                    return Err(ExprError::at(
                        otherwise.column,
                        format!("both branches of '? :' must have one type, not {} and {}", a.name(), b.name()),
                    ));
                }
            };
            let column = condition.column;
            p.make(Node::Conditional(Box::new(condition), Box::new(then), Box::new(otherwise)), ty, column)
        })
    }

    fn require(&self, expr: &Expr, ty: Type, what: &str) -> Result<(), ExprError> {
        if accepts(ty, expr.ty) {
            Ok(())
        } else {
            Err(ExprError::at(expr.column, format!("{what} must be a {}, not a {}", ty.name(), expr.ty.name())))
        }
    }

    fn or(&mut self) -> Result<Expr, ExprError> {
        let mut left = self.and()?;
        while self.eat(&Token::Or) {
            let right = self.and()?;
            self.require(&left, Type::Boolean, "each side of '||'")?;
            self.require(&right, Type::Boolean, "each side of '||'")?;
            let column = left.column;
            left = self.make(Node::Or(Box::new(left), Box::new(right)), Type::Boolean, column)?;
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, ExprError> {
        let mut left = self.equality()?;
        while self.eat(&Token::And) {
            let right = self.equality()?;
            self.require(&left, Type::Boolean, "each side of '&&'")?;
            self.require(&right, Type::Boolean, "each side of '&&'")?;
            let column = left.column;
            left = self.make(Node::And(Box::new(left), Box::new(right)), Type::Boolean, column)?;
        }
        Ok(left)
    }

    fn equality(&mut self) -> Result<Expr, ExprError> {
        let left = self.concat()?;
        let negated = match self.peek() {
            Some(Token::EqEq) => false,
            Some(Token::NotEq) => true,
            _ => return Ok(left),
        };
        self.at += 1;
        let right = self.concat()?;
        if left.ty != right.ty && left.ty != Type::Null && right.ty != Type::Null {
            return Err(ExprError::at(
                right.column,
                format!("cannot compare a {} with a {}", left.ty.name(), right.ty.name()),
            ));
        }
        let column = left.column;
        self.make(Node::Equals { left: Box::new(left), right: Box::new(right), negated }, Type::Boolean, column)
    }

    fn concat(&mut self) -> Result<Expr, ExprError> {
        let mut left = self.unary()?;
        while self.eat(&Token::Plus) {
            let right = self.unary()?;
            for side in [&left, &right] {
                if side.ty == Type::List {
                    return Err(ExprError::at(
                        side.column,
                        "'+' joins text; use Arrays.toCsvString or String.join for a list",
                    ));
                }
            }
            let column = left.column;
            left = self.make(Node::Concat(Box::new(left), Box::new(right)), Type::String, column)?;
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, ExprError> {
        let column = self.column();
        if self.eat(&Token::Bang) {
            let operand = self.nested(|p| p.unary())?;
            self.require(&operand, Type::Boolean, "the operand of '!'")?;
            return self.make(Node::Not(Box::new(operand)), Type::Boolean, column);
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, ExprError> {
        let Some((token, column)) = self.peek_spanned() else {
            return Err(ExprError::at(self.end_column, "the expression ends too early"));
        };
        self.at += 1;
        match token {
            Token::Str(s) => self.make(Node::Literal(Value::String(s)), Type::String, column),
            Token::Int(i) => self.make(Node::Literal(Value::Integer(i)), Type::Integer, column),
            Token::LParen => {
                let inner = self.conditional()?;
                self.expect(&Token::RParen)?;
                Ok(inner)
            }
            Token::Ident(name) => self.name(name, column),
            other => Err(ExprError::at(column, format!("unexpected {}", describe(&other)))),
        }
    }

    fn name(&mut self, first: String, column: usize) -> Result<Expr, ExprError> {
        match first.as_str() {
            "true" => return self.make(Node::Literal(Value::Boolean(true)), Type::Boolean, column),
            "false" => return self.make(Node::Literal(Value::Boolean(false)), Type::Boolean, column),
            "null" => return self.make(Node::Literal(Value::Null), Type::Null, column),
            _ => {}
        }
        let mut path = vec![first];
        while self.eat(&Token::Dot) {
            match self.peek_spanned() {
                Some((Token::Ident(part), _)) => {
                    self.at += 1;
                    path.push(part);
                }
                _ => return Err(ExprError::at(self.column(), "expected a name after '.'")),
            }
        }
        if self.peek() == Some(&Token::LParen) {
            return self.call(&path, column);
        }
        match path.as_slice() {
            [user, attribute] if user == "user" => {
                let Some(ty) = self.attributes.attribute_type(attribute) else {
                    return Err(ExprError::at(
                        column,
                        format!(
                            "the user profile has no attribute {attribute:?}; add it in the profile schema or fix the name"
                        ),
                    ));
                };
                self.make(Node::UserAttribute(attribute.clone()), ty, column)
            }
            _ => Err(ExprError::at(
                column,
                format!("unknown name {:?}: profile attributes are written user.<name>", path.join(".")),
            )),
        }
    }

    fn call(&mut self, path: &[String], column: usize) -> Result<Expr, ExprError> {
        let (namespace, name) = match path {
            [name] => (None, name.as_str()),
            [namespace, name] => (Some(namespace.as_str()), name.as_str()),
            _ => return Err(ExprError::at(column, format!("unknown function {}", path.join(".")))),
        };
        let is_replace = namespace == Some("String") && name == "replace";
        let make_function = if is_replace { None } else { Function::lookup(namespace, name) };
        if make_function.is_none() && !is_replace {
            return Err(ExprError::at(column, format!("unknown function {}", path.join("."))));
        }
        self.expect(&Token::LParen)?;
        let mut args = Vec::new();
        if !self.eat(&Token::RParen) {
            loop {
                args.push(self.nested(|p| p.conditional())?);
                if self.eat(&Token::RParen) {
                    break;
                }
                self.expect(&Token::Comma)?;
            }
        }
        let function = match make_function {
            Some(make) => make(),
            None => Function::Replace(literal_pattern(&args, column)?),
        };
        let signature = function.signature();
        let arity_ok =
            if signature.variadic { args.len() >= signature.args.len() } else { args.len() == signature.args.len() };
        if !arity_ok {
            let count = signature.args.len();
            let at_least = if signature.variadic { "at least " } else { "" };
            return Err(ExprError::at(
                column,
                format!("{} takes {at_least}{count} argument(s), not {}", path.join("."), args.len()),
            ));
        }
        for (index, arg) in args.iter().enumerate() {
            let expected = signature.args.get(index).or(signature.args.last()).copied().unwrap_or(Type::String);
            self.require(arg, expected, &format!("argument {} of {}", index + 1, path.join(".")))?;
        }
        if matches!(function, Function::GroupsStartsWith | Function::GroupsContains)
            && !matches!(args.get(2).map(|a| &a.node), Some(Node::Literal(Value::Integer(1..=100))))
        {
            return Err(ExprError::at(column, "the limit of a Groups function must be a number from 1 to 100"));
        }
        self.make(Node::Call(function, args), signature.result, column)
    }
}

/// `String.replace` takes its pattern as a literal so it is compiled (and checked) at save time.
fn literal_pattern(args: &[Expr], column: usize) -> Result<Regex, ExprError> {
    let Some(Expr { node: Node::Literal(Value::String(pattern)), column: pattern_column, .. }) = args.get(1) else {
        return Err(ExprError::at(column, "the pattern of String.replace must be a string literal"));
    };
    regex::RegexBuilder::new(pattern)
        .size_limit(1 << 16)
        .build()
        .map_err(|e| ExprError::at(*pattern_column, format!("invalid pattern: {e}")))
}
