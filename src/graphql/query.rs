use super::errors::{internal, not_found, terminal_number};
use super::types::{Run, Terminal};
use crate::app::App;
use crate::read_models;
use async_graphql::{Context, Object, Result};
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

    async fn run(&self, ctx: &Context<'_>, id: String) -> Result<Run> {
        let app = ctx.data_unchecked::<Arc<App>>();
        read_models::run(app.database(), &id)
            .await
            .map_err(internal)?
            .map(Run)
            .ok_or_else(|| not_found(format!("run {id} does not exist")))
    }
}
