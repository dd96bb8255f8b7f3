//! CSV import of people: a header row, then one person per row. Columns: `login` (required),
//! `email`, `first_name`, `last_name`, `status`, `groups` (separated by `;`) and any custom
//! profile attribute by name, typed by the schema. Every row is checked first; one bad row
//! and nothing is imported, with every bad row named.

use std::collections::{HashMap, HashSet};

use crate::directory::{ProfileValue, User, UserStatus};
use crate::error::{IdpError, Result};
use crate::tenant::Tenant;

/// At most this many rows in one file.
pub const MAX_ROWS: usize = 200_000;

/// A row that cannot be imported: its line number in the file and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// What an import did (or would do).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Imported {
    pub created: usize,
    pub updated: usize,
    pub memberships: usize,
}

/// Splits CSV text (RFC 4180: quoted fields, doubled quotes, CRLF or LF) into records with the
/// line number each starts on.
pub fn records(text: &str) -> Result<Vec<(usize, Vec<String>)>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    let mut field = String::new();
    let mut record: Vec<String> = Vec::new();
    let (mut line, mut record_line) = (1, 1);
    let mut in_quotes = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, in_quotes) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            ('"', true) => in_quotes = false,
            ('"', false) if field.is_empty() => in_quotes = true,
            (',', false) => record.push(std::mem::take(&mut field)),
            ('\r', false) if chars.peek() == Some(&'\n') => {}
            ('\n', false) => {
                record.push(std::mem::take(&mut field));
                if record.iter().any(|f| !f.is_empty()) {
                    out.push((record_line, std::mem::take(&mut record)));
                } else {
                    record.clear();
                }
                line += 1;
                record_line = line;
                if out.len() > MAX_ROWS {
                    return Err(IdpError::invalid(format!("the file has more than {MAX_ROWS} rows; split it")));
                }
            }
            (c, _) => {
                if c == '\n' {
                    line += 1;
                }
                field.push(c);
            }
        }
    }
    if in_quotes {
        return Err(IdpError::invalid(format!("line {record_line}: a quoted field is not closed")));
    }
    record.push(field);
    if record.iter().any(|f| !f.is_empty()) {
        out.push((record_line, record));
    }
    Ok(out)
}

#[derive(PartialEq)]
enum Column {
    Login,
    Email,
    FirstName,
    LastName,
    Status,
    Groups,
    Custom(String, crate::directory::AttributeType),
}

/// Plans the import of `text` into `tenant` (unchanged on any error), reporting progress as
/// (rows done, rows in all). Returns the new tenant and the counts, or every bad row.
pub fn plan(
    tenant: &Tenant,
    text: &str,
    mut new_id: impl FnMut() -> Result<String>,
    progress: &mut dyn FnMut(usize, usize),
) -> std::result::Result<(Tenant, Imported), Vec<RowError>> {
    let fail = |line: usize, message: String| vec![RowError { line, message }];
    let rows = records(text).map_err(|e| fail(1, e.message))?;
    let Some(((_, header), body)) = rows.split_first() else {
        return Err(fail(1, "the file is empty: the first row names the columns (login, email, …)".into()));
    };
    let mut columns = Vec::new();
    for name in header {
        let column = match name.trim() {
            "login" => Column::Login,
            "email" => Column::Email,
            "first_name" | "firstName" => Column::FirstName,
            "last_name" | "lastName" => Column::LastName,
            "status" => Column::Status,
            "groups" => Column::Groups,
            custom => match tenant.schema.custom_attribute(custom) {
                Some(attribute) => Column::Custom(custom.to_owned(), attribute.kind),
                None => {
                    return Err(fail(
                        1,
                        format!(
                            "unknown column {custom:?}: use login, email, first_name, last_name, status, groups or a custom attribute of the profile schema"
                        ),
                    ));
                }
            },
        };
        if columns.contains(&column) {
            return Err(fail(1, format!("column {:?} appears twice in the header", name.trim())));
        }
        columns.push(column);
    }
    if !columns.iter().any(|c| matches!(c, Column::Login)) {
        return Err(fail(1, "the header has no login column".into()));
    }
    let mut next = tenant.clone();
    let mut positions = Positions::of(&next);
    let mut imported = Imported::default();
    let mut errors = Vec::new();
    let mut seen = std::collections::BTreeMap::new();
    let total = body.len();
    for (index, (line, cells)) in body.iter().enumerate() {
        progress(index + 1, total);
        if cells.len() != columns.len() {
            errors.push(RowError {
                line: *line,
                message: format!("{} fields, but the header has {}", cells.len(), columns.len()),
            });
            continue;
        }
        match row(&mut next, &mut positions, &columns, cells, &mut new_id, &mut imported) {
            Ok(login) => {
                if let Some(first) = seen.insert(login.to_lowercase(), *line) {
                    errors.push(RowError { line: *line, message: format!("login {login:?} is also on line {first}") });
                }
            }
            Err(e) => errors.push(RowError { line: *line, message: e.message }),
        }
    }
    if errors.is_empty()
        && let Err(e) = next.validate()
    {
        errors.push(RowError { line: 0, message: e.message });
    }
    if errors.is_empty() { Ok((next, imported)) } else { Err(errors) }
}

/// Where each person and group of the tenant being imported into is, and the members of the
/// groups rows name: a 10,000-row file into a 100,000-person tenant must not search it per row.
struct Positions {
    users: HashMap<String, usize>,
    groups: HashMap<String, usize>,
    members: HashMap<usize, HashSet<String>>,
}

impl Positions {
    fn of(tenant: &Tenant) -> Positions {
        Positions {
            users: tenant.users.iter().enumerate().map(|(i, u)| (u.login.to_ascii_lowercase(), i)).collect(),
            groups: tenant.groups.iter().enumerate().map(|(i, g)| (g.name.clone(), i)).collect(),
            members: HashMap::new(),
        }
    }
}

fn row(
    tenant: &mut Tenant,
    index: &mut Positions,
    columns: &[Column],
    cells: &[String],
    new_id: &mut impl FnMut() -> Result<String>,
    imported: &mut Imported,
) -> Result<String> {
    let login = columns
        .iter()
        .zip(cells)
        .find(|(c, _)| matches!(c, Column::Login))
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default();
    crate::directory::validate_login(&login)?;
    let key = login.to_ascii_lowercase();
    let position = index.users.get(&key).copied();
    let mut user = match position.and_then(|p| tenant.users.get(p)) {
        Some(existing) => existing.clone(),
        None => User {
            id: new_id()?,
            login: login.clone(),
            email: String::new(),
            first_name: String::new(),
            last_name: String::new(),
            status: UserStatus::Staged,
            profile: Default::default(),
            admin: false,
        },
    };
    let mut groups = Vec::new();
    for (column, value) in columns.iter().zip(cells) {
        let value = value.trim();
        match column {
            Column::Login => {}
            Column::Email => user.email = value.to_owned(),
            Column::FirstName => user.first_name = value.to_owned(),
            Column::LastName => user.last_name = value.to_owned(),
            Column::Status if value.is_empty() => {}
            Column::Status => user.status = UserStatus::parse(value)?,
            Column::Groups => {
                groups = value.split(';').map(str::trim).filter(|g| !g.is_empty()).map(str::to_owned).collect()
            }
            Column::Custom(name, _) if value.is_empty() => {
                user.profile.remove(name);
            }
            Column::Custom(name, kind) => {
                let parsed = ProfileValue::parse_as(*kind, value)
                    .map_err(|e| IdpError::invalid(format!("{name}: {}", e.message)))?;
                user.profile.insert(name.clone(), parsed);
            }
        }
    }
    user.validate()?;
    tenant.schema.check_profile(&user.profile)?;
    for name in &groups {
        let missing = || IdpError::invalid(format!("there is no group {name:?}; create it first"));
        let at = index.groups.get(name).copied().ok_or_else(missing)?;
        let group = tenant.groups.get_mut(at).ok_or_else(missing)?;
        let members =
            index.members.entry(at).or_insert_with(|| group.members.iter().map(|m| m.to_ascii_lowercase()).collect());
        if members.insert(key.clone()) {
            group.members.push(user.login.clone());
            imported.memberships += 1;
        }
    }
    match position.and_then(|p| tenant.users.get_mut(p)) {
        Some(existing) => {
            *existing = user;
            imported.updated += 1;
        }
        None => {
            index.users.insert(key, tenant.users.len());
            tenant.users.push(user);
            imported.created += 1;
        }
    }
    Ok(login)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_fields_and_line_numbers() {
        let text = "login,first_name\r\n\"a,b\",\"say \"\"hi\"\"\"\n\nc,\"two\nlines\"\nd,x";
        let rows = records(text).unwrap();
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[1], (2, vec!["a,b".to_owned(), "say \"hi\"".to_owned()]));
        assert_eq!(rows[2], (4, vec!["c".to_owned(), "two\nlines".to_owned()]));
        assert_eq!(rows[3].0, 6);
        assert!(records("a,\"open").is_err());
    }
}
