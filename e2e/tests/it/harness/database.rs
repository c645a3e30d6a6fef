//! A fresh Postgres database per test: created (and migrated) through the admin URL in
//! `DATABASE_URL`, dropped when the test ends, even when it fails.

use sqlx::postgres::{PgConnection, PgPool, PgPoolOptions};
use sqlx::{AssertSqlSafe, Connection, Executor};
use url::Url;

/// Admin URL used when `DATABASE_URL` is unset (the role scripts/ensure-services.sh creates).
const DEFAULT_ADMIN_URL: &str = "postgres://tokworks:tokworks@127.0.0.1:5432/tokworks";

/// One test's database; `pool` is the test's own connection to it.
#[derive(Debug)]
pub struct TestDatabase {
    pub name: String,
    pub url: String,
    pub pool: PgPool,
    admin_url: String,
}

impl TestDatabase {
    /// Creates `e2e_<uuid>` and applies the workspace migrations.
    pub async fn create() -> TestDatabase {
        let admin_url =
            std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_string());
        let name = format!("e2e_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(&admin_url).await.unwrap_or_else(|error| {
            panic!("cannot connect to Postgres at DATABASE_URL (run scripts/ensure-services.sh): {error}")
        });
        admin
            .execute(AssertSqlSafe(format!("create database \"{name}\"")))
            .await
            .unwrap_or_else(|error| {
                panic!("create database {name} (DATABASE_URL needs CREATEDB): {error}")
            });
        admin.close().await.expect("close the admin connection");

        let mut url = Url::parse(&admin_url).expect("DATABASE_URL is a URL");
        url.set_path(&name);
        let url = url.to_string();
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .connect(&url)
            .await
            .expect("connect to the test database");
        tokworks_shared::db::migrate(&pool)
            .await
            .expect("apply migrations to the test database");
        TestDatabase {
            name,
            url,
            pool,
            admin_url,
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // Drop runs inside the test's runtime, which must not block: use a thread with its own.
        // `with (force)` ends the connections still open (the test's pool, killed processes').
        let dropper = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async move {
                let mut admin = PgConnection::connect(&admin_url).await?;
                admin
                    .execute(AssertSqlSafe(format!(
                        "drop database if exists \"{name}\" with (force)"
                    )))
                    .await?;
                admin.close().await
            })?;
            Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
        });
        match dropper.join() {
            Ok(Ok(())) => {}
            Ok(Err(error)) => eprintln!(
                "warning: could not drop test database {}: {error}",
                self.name
            ),
            Err(_) => eprintln!("warning: dropping test database {} panicked", self.name),
        }
    }
}
