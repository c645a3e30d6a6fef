//! `tokworks-api` entry point: parse the command line, set up logging, run the command.

use std::process::ExitCode;

use tokworks_api::config::{Command, Invocation};
use tokworks_api::{keys_cli, serve};
use tokworks_shared::db;

#[tokio::main]
async fn main() -> ExitCode {
    let invocation = Invocation::parse();
    tokworks_shared::logging::init_logging(&invocation.log_filter, invocation.log_format);
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
