//! Every read-model row as text, in a stable order: for comparing a live projection with a
//! replay, and for looking at the state by hand.

use crate::database::{Database, DatabaseError};
use crate::READ_MODEL_TABLES;
use sqlx::{Column, Row};
use std::collections::BTreeMap;

pub type Dump = BTreeMap<String, Vec<BTreeMap<String, Option<String>>>>;

fn cell<'r, R: Row>(row: &'r R, i: usize) -> Option<String>
where
    usize: sqlx::ColumnIndex<R>,
    Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<bool>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    if let Ok(v) = row.try_get::<Option<String>, _>(i) {
        return v;
    }
    if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
        return v.map(|v| v.to_string());
    }
    row.try_get::<Option<bool>, _>(i)
        .ok()
        .flatten()
        .map(|v| (v as i64).to_string())
}

pub async fn dump(db: &Database) -> Result<Dump, DatabaseError> {
    let mut out = Dump::new();
    for table in READ_MODEL_TABLES {
        let q = format!("SELECT * FROM {table} ORDER BY 1, 2");
        let rows: Vec<BTreeMap<String, Option<String>>> = match db {
            Database::Sqlite { pool, .. } => sqlx::query(&q)
                .fetch_all(pool)
                .await?
                .iter()
                .map(|r| {
                    r.columns()
                        .iter()
                        .map(|c| (c.name().to_string(), cell(r, c.ordinal())))
                        .collect()
                })
                .collect(),
            Database::Postgres { pool, .. } => sqlx::query(&q)
                .fetch_all(pool)
                .await?
                .iter()
                .map(|r| {
                    r.columns()
                        .iter()
                        .map(|c| (c.name().to_string(), cell(r, c.ordinal())))
                        .collect()
                })
                .collect(),
        };
        out.insert(table.to_string(), rows);
    }
    Ok(out)
}
