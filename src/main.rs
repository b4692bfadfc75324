use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use packet_run::cli::{Cli, Command};
use packet_run::configuration::Settings;
use packet_run::startup::Application;
use packet_run::telemetry;
use packet_run_projections::{replay, Database, Position};
use std::process::ExitCode;
use std::time::Duration;

#[tokio::main]
async fn main() -> ExitCode {
    telemetry::init();
    let cli = Cli::parse();
    match run(cli.command.unwrap_or(Command::Serve)).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("packet-run: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> Result<(), String> {
    if let Command::Trace { ip } = command {
        std::process::exit(packet_run::traceroute::probe::trace(ip));
    }
    if let Command::Schema = command {
        print!("{}", packet_run::graphql::sdl());
        return Ok(());
    }
    let settings = Settings::from_env().map_err(|e| e.to_string())?;
    match command {
        Command::Serve => serve(&settings).await,
        Command::Migrate => {
            let db = Database::connect(&settings.database_url)
                .await
                .map_err(|e| e.to_string())?;
            db.migrate().await.map_err(|e| e.to_string())?;
            println!("migrations applied to {}", settings.database_url);
            Ok(())
        }
        Command::Replay => replay_command(&settings).await,
        Command::Schema | Command::Trace { .. } => unreachable!("handled above"),
        Command::Worker => worker(&settings).await,
        Command::Events {
            aggregate_type,
            aggregate_id,
            follow,
        } => events(&settings, aggregate_type, aggregate_id, follow).await,
    }
}

async fn serve(settings: &Settings) -> Result<(), String> {
    let application = Application::build(settings, None)
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!(
        database = %settings.database_url,
        "packet-run is running on http://{}:{}/graphql; stop it with Ctrl-C or SIGTERM",
        settings.host,
        application.port()
    );
    shutdown_signal().await;
    tracing::info!("stopping");
    application.stop().await;
    Ok(())
}

async fn worker(settings: &Settings) -> Result<(), String> {
    let workers = packet_run::startup::WorkerProcess::start(settings)
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!("packet-run worker is running; stop it with Ctrl-C or SIGTERM");
    shutdown_signal().await;
    tracing::info!("stopping");
    workers.stop().await;
    Ok(())
}

async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

async fn replay_command(settings: &Settings) -> Result<(), String> {
    let db = Database::connect(&settings.database_url)
        .await
        .map_err(|e| e.to_string())?;
    db.migrate().await.map_err(|e| e.to_string())?;
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} events ({per_sec}, {eta} left)")
            .expect("valid template"),
    );
    let report = replay::replay(&db, |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })
    .await
    .map_err(|e| format!("replay failed, the read models are unchanged: {e}"))?;
    bar.finish_and_clear();
    println!(
        "replayed {} events in {:.2} s ({:.0} events/s); read models now at position {}",
        report.events,
        report.elapsed.as_secs_f64(),
        report.events_per_second(),
        report.position
    );
    db.close().await;
    Ok(())
}

async fn events(
    settings: &Settings,
    aggregate_type: Option<String>,
    aggregate_id: Option<String>,
    follow: bool,
) -> Result<(), String> {
    let db = Database::connect(&settings.database_url)
        .await
        .map_err(|e| e.to_string())?;
    db.migrate().await.map_err(|e| e.to_string())?;
    let mut after = Position::default();
    loop {
        let batch = db
            .events_after(after, 1000)
            .await
            .map_err(|e| e.to_string())?;
        for event in &batch {
            after = event.position;
            let wanted = aggregate_type
                .as_ref()
                .is_none_or(|t| t.eq_ignore_ascii_case(&event.aggregate_type))
                && aggregate_id
                    .as_ref()
                    .is_none_or(|id| *id == event.aggregate_id);
            if wanted {
                println!(
                    "{}",
                    serde_json::to_string(event).map_err(|e| e.to_string())?
                );
            }
        }
        if batch.is_empty() {
            if !follow {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}
