//! One SQL statement with its arguments, written once with `?` placeholders and run on either
//! database. Projections produce these, so they stay plain functions that are easy to test.

use crate::database::DatabaseError;
use sqlx::{Postgres, Sqlite};

#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Int(i64),
    Text(String),
    OptText(Option<String>),
    OptInt(Option<i64>),
    Bool(bool),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Sql {
    pub text: &'static str,
    pub args: Vec<Arg>,
}

impl Sql {
    pub fn new(text: &'static str, args: Vec<Arg>) -> Self {
        Sql { text, args }
    }
}

impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::Int(v)
    }
}
impl From<u32> for Arg {
    fn from(v: u32) -> Self {
        Arg::Int(v as i64)
    }
}
impl From<String> for Arg {
    fn from(v: String) -> Self {
        Arg::Text(v)
    }
}
impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Text(v.to_string())
    }
}
impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Self {
        Arg::OptText(v)
    }
}
impl From<Option<u32>> for Arg {
    fn from(v: Option<u32>) -> Self {
        Arg::OptInt(v.map(i64::from))
    }
}
impl From<bool> for Arg {
    fn from(v: bool) -> Self {
        Arg::Bool(v)
    }
}

/// `sql!("UPDATE t SET a = ? WHERE b = ?", a, b)`
#[macro_export]
macro_rules! sql {
    ($text:expr $(, $arg:expr)* $(,)?) => {
        $crate::sql::Sql::new($text, vec![$($crate::sql::Arg::from($arg)),*])
    };
}

/// Rewrites `?` placeholders as PostgreSQL's `$1, $2, …` (none of our SQL has `?` in literals).
pub fn to_postgres(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut n = 0;
    for c in text.chars() {
        if c == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(c);
        }
    }
    out
}

/// Binds `args`, in order, to a sqlx query (or query_as) of either database.
#[macro_export]
macro_rules! bind_args {
    ($query:expr, $args:expr) => {{
        let mut query = $query;
        for arg in $args {
            query = match arg {
                $crate::sql::Arg::Int(v) => query.bind(*v),
                $crate::sql::Arg::Text(v) => query.bind(v.clone()),
                $crate::sql::Arg::OptText(v) => query.bind(v.clone()),
                $crate::sql::Arg::OptInt(v) => query.bind(*v),
                $crate::sql::Arg::Bool(v) => query.bind(*v),
            };
        }
        query
    }};
}

pub async fn execute_sqlite(
    conn: &mut sqlx::SqliteConnection,
    sql: &Sql,
) -> Result<(), DatabaseError> {
    bind_args!(sqlx::query::<Sqlite>(sql.text), &sql.args)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn execute_postgres(
    conn: &mut sqlx::PgConnection,
    sql: &Sql,
) -> Result<(), DatabaseError> {
    let text = to_postgres(sql.text);
    bind_args!(sqlx::query::<Postgres>(&text), &sql.args)
        .execute(conn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_become_numbered_for_postgres() {
        assert_eq!(super::to_postgres("a = ? AND b = ?"), "a = $1 AND b = $2");
    }
}
