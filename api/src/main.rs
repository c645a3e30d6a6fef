//! `tokworks-api` entry point: parse the command line, set up logging, run the command.

use std::process::ExitCode;

use tokworks_api::config::{Command, Invocation};
use tokworks_api::{keys_cli, serve};
use tokworks_shared::db;

#[tokio::main]
async fn main() -> ExitCode {
    let invocation = Invocation::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&invocation.log_filter).unwrap_or_default(),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let outcome: anyhow::Result<()> = match invocation.command {
        Command::Serve(args) => serve(args).await.map_err(anyhow::Error::from),
        Command::Migrate { database } => {
            async {
                let pool = db::connect(&database).await?;
                db::migrate(&pool).await?;
                tracing::info!("migrations applied");
                Ok(())
            }
            .await
        }
        Command::Keys { database, command } => {
            async {
                let pool = db::connect(&database).await?;
                keys_cli::run_keys_command(&pool, &command, &mut std::io::stdout().lock()).await?;
                Ok(())
            }
            .await
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            ExitCode::FAILURE
        }
    }
}
