//! The operations the screens (through GraphQL), the workers and the command line perform.
//! Each checks its input, sends commands to the aggregates, and answers once the read models
//! show the result.

use crate::event_store::{CommandError, Committed, EventStore};
use crate::read_models;
use crate::targets::TargetPolicy;
use chrono::{DateTime, Utc};
use packet_run_domain::{
    Address, AddressCommand, AddressError, AltHops, Installation, Run, RunCommand, RunError,
    RunEvent, RunServices, Terminal, TerminalCommand, TerminalError, TerminalId, TerminalType,
};
use packet_run_projections::{Database, DatabaseError, Position};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::sync::{Arc, Mutex};

/// An error with a message for the screen and a stable code for programs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    InvalidState(String),
    #[error("{0}")]
    BadInput(String),
    #[error("{0}")]
    Conflict(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    pub fn code(&self) -> &'static str {
        match self {
            AppError::NotFound(_) => "NOT_FOUND",
            AppError::InvalidState(_) => "INVALID_STATE",
            AppError::BadInput(_) => "BAD_INPUT",
            AppError::Conflict(_) => "CONFLICT",
            AppError::Internal(_) => "INTERNAL",
        }
    }
}

impl From<DatabaseError> for AppError {
    fn from(e: DatabaseError) -> Self {
        AppError::Internal(e.to_string())
    }
}

fn from_command<E: std::error::Error>(
    e: CommandError<E>,
    classify: impl Fn(&E) -> fn(String) -> AppError,
) -> AppError {
    match e {
        CommandError::Rejected(e) => classify(&e)(e.to_string()),
        e @ CommandError::Conflict { .. } => AppError::Conflict(e.to_string()),
        e @ CommandError::Store(_) => AppError::Internal(e.to_string()),
    }
}

impl From<CommandError<RunError>> for AppError {
    fn from(e: CommandError<RunError>) -> Self {
        from_command(e, |e| match e {
            RunError::NotFound | RunError::UnknownTerminal(_) => AppError::NotFound,
            RunError::AlreadyExists(_) => AppError::Conflict,
            RunError::HopOutOfRange(_) | RunError::InvalidAddress(_) => AppError::BadInput,
            RunError::NotADestination { .. }
            | RunError::RouteNotReady { .. }
            | RunError::MayNotTransform { .. }
            | RunError::AlreadyTransformed(_) => AppError::InvalidState,
        })
    }
}

impl From<CommandError<TerminalError>> for AppError {
    fn from(e: CommandError<TerminalError>) -> Self {
        from_command(e, |e| match e {
            TerminalError::NotFound(_) => AppError::NotFound,
            TerminalError::AlreadyRegistered(_) => AppError::Conflict,
            _ => AppError::InvalidState,
        })
    }
}

impl From<CommandError<AddressError>> for AppError {
    fn from(e: CommandError<AddressError>) -> Self {
        from_command(e, |e| match e {
            AddressError::InvalidIp(_) | AddressError::InvalidMetadata(_) => AppError::BadInput,
        })
    }
}

/// The longest URL a visitor may type.
pub const MAX_URL_LENGTH: usize = 2048;
/// The longest NFC tag id accepted.
pub const MAX_TAG_LENGTH: usize = 128;

pub struct App {
    pub store: EventStore,
    pub installation: Arc<Installation>,
    pub run_services: RunServices,
    pub targets: TargetPolicy,
    rng: Mutex<StdRng>,
}

fn now() -> DateTime<Utc> {
    Utc::now()
}

fn check_tag(nfc_id: &str) -> Result<&str, AppError> {
    let tag = nfc_id.trim();
    if tag.is_empty() || tag.len() > MAX_TAG_LENGTH || tag.chars().any(char::is_control) {
        return Err(AppError::BadInput(format!(
            "NFC tag id {nfc_id:?} is not valid: it must be 1 to {MAX_TAG_LENGTH} printable characters"
        )));
    }
    Ok(tag)
}

/// The form of a URL a visitor may ask for: http(s) with a host, not on the blocklist, not
/// pointing into our own network (literal addresses and local names; no DNS is asked here).
pub fn check_run_url(url: &str, targets: &TargetPolicy) -> Result<url::Url, AppError> {
    let bad = |why: &str| AppError::BadInput(format!("{url:?} is not a website address: {why}"));
    if url.len() > MAX_URL_LENGTH {
        return Err(bad(&format!("longer than {MAX_URL_LENGTH} characters")));
    }
    let parsed = url::Url::parse(url.trim()).map_err(|e| bad(&e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(bad("only http:// and https:// addresses can be visited"));
    }
    match parsed.host_str() {
        None | Some("") => return Err(bad("it has no host name")),
        Some(host) if crate::blocklist::is_blocked(host) => {
            return Err(AppError::BadInput(format!(
                "{host} is on the blocklist and cannot be visited"
            )))
        }
        Some(_) => {}
    }
    if let Some(host) = parsed.host() {
        targets.check_host(&host).map_err(AppError::BadInput)?;
    }
    Ok(parsed)
}

impl App {
    /// `seed` fixes every random choice (for reproducible tests); production passes `None`.
    pub fn new(
        store: EventStore,
        installation: Installation,
        alt_hops: AltHops,
        seed: Option<u64>,
    ) -> Self {
        let installation = Arc::new(installation);
        let rng = seed
            .map(StdRng::seed_from_u64)
            .unwrap_or_else(StdRng::from_entropy);
        App {
            store,
            run_services: RunServices {
                installation: installation.clone(),
                alt_hops: Arc::new(alt_hops),
            },
            installation,
            targets: TargetPolicy::default(),
            rng: Mutex::new(rng),
        }
    }

    pub fn database(&self) -> &Database {
        self.store.database()
    }

    fn random<T>(&self, f: impl FnOnce(&mut StdRng) -> T) -> T {
        f(&mut self.rng.lock().expect("rng lock"))
    }

    fn require_terminal(&self, terminal_id: TerminalId) -> Result<TerminalType, AppError> {
        self.installation
            .terminal_type(terminal_id)
            .ok_or_else(|| AppError::NotFound(format!("terminal {terminal_id} does not exist")))
    }

    /// `createRun`: a new packet for `url`, bound for a random server.
    pub async fn create_run(&self, url: &str, nfc_id: &str) -> Result<String, AppError> {
        let url = check_run_url(url, &self.targets)?;
        let nfc_id = check_tag(nfc_id)?.to_string();
        let servers: Vec<TerminalId> = self.installation.of_type(TerminalType::Server).collect();
        let (run_id, server) = self.random(|rng| {
            const ALPHABET: &[u8] =
                b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
            let id: String = (0..12)
                .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
                .collect();
            (id, servers[rng.gen_range(0..servers.len())])
        });
        let command = RunCommand::Create {
            run_id: run_id.clone(),
            nfc_id,
            url: url.to_string(),
            server,
            at: now(),
        };
        let committed = self
            .store
            .execute::<Run>(&run_id, command, &self.run_services)
            .await?;
        self.store.wait_for_read_models(committed.position).await;
        Ok(run_id)
    }

    /// `scanNfcForTerminal`: the visitor put the packet on a terminal's reader.
    pub async fn scan_nfc_for_terminal(
        &self,
        terminal_id: TerminalId,
        nfc_id: &str,
    ) -> Result<(), AppError> {
        self.require_terminal(terminal_id)?;
        let nfc_id = check_tag(nfc_id)?;
        let db = self.database();
        let run_id = read_models::newest_run_for_tag(db, nfc_id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no packet has tag {nfc_id:?}")))?;
        let locations = read_models::locations_for_run(db, &run_id).await?;
        let seed = self.random(|rng| rng.gen());
        let at = now();
        let command = RunCommand::Scan {
            terminal: terminal_id,
            seed,
            locations,
            at,
        };
        let scanned = self
            .store
            .execute::<Run>(&run_id, command, &self.run_services)
            .await?;
        let mut last = scanned.position;
        for event in &scanned.events {
            if let RunEvent::HopTaken {
                left: Some(left),
                terminal,
                ..
            } = event
            {
                if left != terminal {
                    let release = TerminalCommand::ReleasePacket {
                        run_id: run_id.clone(),
                        at,
                    };
                    last = last.max(self.terminal_command(*left, release).await?.position);
                }
            }
        }
        let receive = TerminalCommand::ReceivePacket {
            run_id: run_id.clone(),
            at,
        };
        last = last.max(self.terminal_command(terminal_id, receive).await?.position);
        self.store.wait_for_read_models(last).await;
        Ok(())
    }

    /// `createReturnPacketForTerminal`: a sender builds the request, a server turns it into the
    /// response; `is_packet_created` marks the end of that interaction.
    pub async fn create_return_packet_for_terminal(
        &self,
        terminal_id: TerminalId,
        created: bool,
    ) -> Result<(), AppError> {
        let terminal_type = self.require_terminal(terminal_id)?;
        let terminal: Terminal = self.store.load(&terminal_id.to_string()).await?;
        let may_transform = match &terminal.run_id {
            Some(run_id) => {
                let run: Run = self.store.load(run_id).await?;
                run.check_may_transform(terminal_id)
                    .map_err(|e| e.to_string())
            }
            None => Ok(()),
        };
        // Turn the run around before the terminal shows CREATED_PACKET, so that no screen is
        // ever pushed a created packet that is still a request. Only when the terminal will
        // accept the command: otherwise its refusal below must leave everything unchanged.
        let mut last = None;
        let turns_around = created
            && terminal_type == TerminalType::Server
            && terminal.status == packet_run_domain::TerminalStatus::CreatingPacket
            && may_transform.is_ok();
        if let (true, Some(run_id)) = (turns_around, &terminal.run_id) {
            let transform = RunCommand::Transform {
                terminal: terminal_id,
                at: now(),
            };
            let committed = self
                .store
                .execute::<Run>(run_id, transform, &self.run_services)
                .await?;
            last = committed.position;
        }
        let command = TerminalCommand::CreatePacket {
            created,
            may_transform,
            at: now(),
        };
        last = last.max(self.terminal_command(terminal_id, command).await?.position);
        self.store.wait_for_read_models(last).await;
        Ok(())
    }

    /// `setTerminalToIdle`.
    pub async fn set_terminal_to_idle(&self, terminal_id: TerminalId) -> Result<(), AppError> {
        self.require_terminal(terminal_id)?;
        let committed = self
            .terminal_command(terminal_id, TerminalCommand::Reset { at: now() })
            .await?;
        self.store.wait_for_read_models(committed.position).await;
        Ok(())
    }

    pub async fn terminal_command(
        &self,
        terminal_id: TerminalId,
        command: TerminalCommand,
    ) -> Result<Committed<Terminal>, AppError> {
        Ok(self
            .store
            .execute::<Terminal>(&terminal_id.to_string(), command, &())
            .await?)
    }

    /// For the workers: a traceroute or screenshot result for a run.
    pub async fn run_command(
        &self,
        run_id: &str,
        command: RunCommand,
    ) -> Result<Committed<Run>, AppError> {
        Ok(self
            .store
            .execute::<Run>(run_id, command, &self.run_services)
            .await?)
    }

    /// For the workers: something learnt about an address.
    pub async fn address_command(
        &self,
        ip: &str,
        command: AddressCommand,
    ) -> Result<Committed<Address>, AppError> {
        Ok(self.store.execute::<Address>(ip, command, &()).await?)
    }

    /// For the workers: a run as its events left it.
    pub async fn load_run(&self, run_id: &str) -> Result<Run, AppError> {
        Ok(self.store.load::<Run>(run_id).await?)
    }

    /// For the workers: what is known of an address.
    pub async fn load_address(&self, ip: &str) -> Result<Address, AppError> {
        Ok(self.store.load::<Address>(ip).await?)
    }

    /// Waits until the read models include `position` (bounded).
    pub async fn settle(&self, position: Option<Position>) {
        self.store.wait_for_read_models(position).await;
    }
}
