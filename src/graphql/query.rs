use super::errors::{bad_input, internal, not_found, terminal_number};
use super::subscription::EventRecord;
use super::types::{Run, Terminal};
use crate::app::App;
use crate::read_models;
use crate::read_models::{fetch_all, RunRow, RUN_COLUMNS};
use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, Object, Result};
use packet_run_projections::sql::Arg;
use std::sync::Arc;

pub struct Query;

#[Object]
impl Query {
    async fn terminal(&self, ctx: &Context<'_>, id: f64) -> Result<Option<Terminal>> {
        let number = terminal_number(id)?;
        let app = ctx.data_unchecked::<Arc<App>>();
        match read_models::terminal(app.database(), number as i64)
            .await
            .map_err(internal)?
        {
            Some(row) => Ok(Some(Terminal(row))),
            None => Err(not_found(format!("terminal {number} does not exist"))),
        }
    }

    async fn terminals(&self, ctx: &Context<'_>) -> Result<Vec<Terminal>> {
        let app = ctx.data_unchecked::<Arc<App>>();
        Ok(read_models::all_terminals(app.database())
            .await
            .map_err(internal)?
            .into_iter()
            .map(Terminal)
            .collect())
    }

    /// Runs, newest first, as a cursor connection (`first` at most 100, default 20).
    async fn runs(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, Run, EmptyFields, EmptyFields>> {
        let app = ctx.data_unchecked::<Arc<App>>();
        let first = first.unwrap_or(20);
        if !(0..=100).contains(&first) {
            return Err(bad_input(format!(
                "first must be between 0 and 100, not {first}"
            )));
        }
        let before: i64 = match &after {
            Some(cursor) => cursor
                .parse()
                .map_err(|_| bad_input(format!("{cursor:?} is not a cursor from this list")))?,
            None => i64::MAX,
        };
        let sql = format!("SELECT {RUN_COLUMNS} FROM runs WHERE created_position < ? ORDER BY created_position DESC LIMIT ?");
        let mut rows: Vec<RunRow> = fetch_all(
            app.database(),
            &sql,
            &[Arg::Int(before), Arg::Int(first as i64 + 1)],
        )
        .await
        .map_err(internal)?;
        let has_next = rows.len() > first as usize;
        rows.truncate(first as usize);
        let mut connection = Connection::new(after.is_some(), has_next);
        connection.edges.extend(
            rows.into_iter()
                .map(|r| Edge::new(r.created_position.to_string(), Run(r))),
        );
        Ok(connection)
    }

    /// A run's history: every event of it, in order.
    async fn run_events(&self, ctx: &Context<'_>, run_id: String) -> Result<Vec<EventRecord>> {
        let app = ctx.data_unchecked::<Arc<App>>();
        let events = app
            .database()
            .events_of("Run", &run_id)
            .await
            .map_err(internal)?;
        if events.is_empty() {
            return Err(not_found(format!("run {run_id} does not exist")));
        }
        Ok(events.iter().map(EventRecord::from).collect())
    }

    async fn run(&self, ctx: &Context<'_>, id: String) -> Result<Run> {
        let app = ctx.data_unchecked::<Arc<App>>();
        read_models::run(app.database(), &id)
            .await
            .map_err(internal)?
            .map(Run)
            .ok_or_else(|| not_found(format!("run {id} does not exist")))
    }
}
