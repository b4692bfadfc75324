//! The installation's layout: loaded from `installation.toml`, seeded as events on the first
//! start, checked against the stored layout on every later start, and put back to rest (every
//! terminal IDLE without a run, no stale presences) at each start.

use crate::app::{App, AppError};
use crate::read_models;
use chrono::Utc;
use packet_run_domain::{
    Installation, InstallationError, Terminal, TerminalCommand, TerminalId, TerminalSpec,
    TerminalType,
};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The layout the project ships, used when `INSTALLATION_FILE` is left at its default and the
/// file is not there.
pub const DEFAULT_INSTALLATION: &str = include_str!("../installation.toml");
pub const DEFAULT_INSTALLATION_FILE: &str = "installation.toml";

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("cannot read the installation file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the installation file {path} is not a valid layout: {reason}")]
    Parse { path: PathBuf, reason: String },
    #[error("the installation file {path} describes an impossible layout: {source}")]
    Layout {
        path: PathBuf,
        source: InstallationError,
    },
    #[error(
        "the installation file {path} no longer matches the layout stored in the database:\n{differences}\n\
         The stored layout is never rewritten: restore the file, or point DATABASE_URL at a fresh database for a new layout."
    )]
    Mismatch { path: PathBuf, differences: String },
    #[error("seeding the installation failed: {0}")]
    App(#[from] AppError),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LayoutFile {
    terminal: Vec<TerminalEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TerminalEntry {
    id: TerminalId,
    #[serde(rename = "type")]
    terminal_type: TerminalType,
    payload: Option<String>,
    #[serde(default)]
    connections: Vec<ConnectionEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConnectionEntry {
    slot: u32,
    to: TerminalId,
}

/// Parses a layout file's text.
pub fn parse_installation(text: &str, path: &Path) -> Result<Installation, SeedError> {
    let parse_error = |reason: String| SeedError::Parse {
        path: path.to_path_buf(),
        reason,
    };
    let file: LayoutFile = toml::from_str(text).map_err(|e| parse_error(e.to_string()))?;
    let mut specs = Vec::new();
    for entry in file.terminal {
        let mut connections = BTreeMap::new();
        for c in entry.connections {
            if connections.insert(c.slot, c.to).is_some() {
                return Err(parse_error(format!(
                    "terminal {} uses slot {} twice",
                    entry.id, c.slot
                )));
            }
        }
        specs.push(TerminalSpec {
            id: entry.id,
            terminal_type: entry.terminal_type,
            payload: entry.payload,
            connections,
        });
    }
    Installation::new(specs).map_err(|source| SeedError::Layout {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads the layout file; the built-in layout stands in for a missing default file.
pub fn load_installation(path: &Path) -> Result<Installation, SeedError> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse_installation(&text, path),
        Err(e)
            if e.kind() == std::io::ErrorKind::NotFound
                && path == Path::new(DEFAULT_INSTALLATION_FILE) =>
        {
            tracing::info!(
                "no {DEFAULT_INSTALLATION_FILE} here; using the built-in default layout"
            );
            parse_installation(DEFAULT_INSTALLATION, path)
        }
        Err(source) => Err(SeedError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SeedReport {
    pub registered: usize,
    pub reset: usize,
    pub presences_dropped: usize,
}

fn describe(spec: &TerminalSpec) -> String {
    let connections: Vec<String> = spec
        .connections
        .iter()
        .map(|(slot, to)| format!("slot {slot} → {to}"))
        .collect();
    format!(
        "{} [{}]{}",
        spec.terminal_type,
        connections.join(", "),
        spec.payload
            .as_ref()
            .map(|p| format!(" payload {p:?}"))
            .unwrap_or_default()
    )
}

/// Seeds the layout where the log has none of it, refuses a layout that differs from the
/// stored one, and puts every terminal back to rest.
pub async fn seed_and_reset(app: &App, path: &Path) -> Result<SeedReport, SeedError> {
    let mut report = SeedReport::default();
    let stored_ids = read_models::registered_terminal_ids(app.database())
        .await
        .map_err(AppError::from)?;
    let mut differences = Vec::new();
    for id in &stored_ids {
        let terminal_id: TerminalId = id.parse().unwrap_or_default();
        let stored: Terminal = app.store.load(id).await.map_err(AppError::from)?;
        match (stored.spec, app.installation.terminal(terminal_id)) {
            (Some(stored), Some(file)) if stored != *file => differences.push(format!(
                "- terminal {terminal_id}: stored as {}, the file says {}",
                describe(&stored),
                describe(file)
            )),
            (Some(_), None) => differences.push(format!(
                "- terminal {terminal_id} is stored but not in the file"
            )),
            _ => {}
        }
    }
    if !differences.is_empty() {
        return Err(SeedError::Mismatch {
            path: path.to_path_buf(),
            differences: differences.join("\n"),
        });
    }
    let now = Utc::now();
    let mut last = None;
    for spec in app.installation.terminals() {
        if !stored_ids.contains(&spec.id.to_string()) {
            if !stored_ids.is_empty() {
                tracing::info!(
                    terminal = spec.id,
                    "registering a terminal that is new in the installation file"
                );
            }
            let registered = app
                .terminal_command(
                    spec.id,
                    TerminalCommand::Register {
                        spec: spec.clone(),
                        at: now,
                    },
                )
                .await?;
            last = last.max(registered.position);
            report.registered += 1;
        }
        let reset = app
            .terminal_command(spec.id, TerminalCommand::Reset { at: now })
            .await?;
        report.reset += reset.events.len();
        let dropped = app
            .terminal_command(spec.id, TerminalCommand::DropPresences { at: now })
            .await?;
        report.presences_dropped += dropped.events.len();
        last = last.max(reset.position).max(dropped.position);
    }
    app.settle(last).await;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_file_is_the_documented_default_layout() {
        let parsed =
            parse_installation(DEFAULT_INSTALLATION, Path::new("installation.toml")).unwrap();
        assert_eq!(parsed, Installation::default_layout());
    }

    #[test]
    fn a_slot_used_twice_is_refused_with_its_terminal() {
        let text = DEFAULT_INSTALLATION.replace("{ slot = 2, to = 8 }", "{ slot = 1, to = 8 }");
        let error = parse_installation(&text, Path::new("x.toml")).unwrap_err();
        assert!(
            error.to_string().contains("terminal 3 uses slot 1 twice"),
            "{error}"
        );
    }
}
