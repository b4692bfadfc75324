//! The `packet-run` command line.

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "packet-run",
    version,
    about = "Back-end of the Packet Run installation"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the service (the default); it also runs the job workers unless WORKERS=off.
    Serve,
    /// Run job workers only: any number of them, on any machine that reaches Redis and the
    /// database.
    Worker,
    /// Trace the route to an address, printing each hop as a JSON line (the traceroute
    /// worker runs this; it needs CAP_NET_RAW).
    Trace {
        /// The address to trace to.
        ip: std::net::IpAddr,
    },
    /// Apply the database migrations and exit.
    Migrate,
    /// Rebuild every read model from the event log.
    Replay,
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Print the event log as JSON lines.
    Events {
        /// Only events of this aggregate type (Run, Terminal, Address).
        #[arg(long)]
        aggregate_type: Option<String>,
        /// Only events of this aggregate id (a run id, a terminal number, an IP).
        #[arg(long)]
        aggregate_id: Option<String>,
        /// Keep printing new events as they are appended.
        #[arg(long)]
        follow: bool,
    },
}
