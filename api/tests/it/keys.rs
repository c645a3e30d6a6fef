//! `tokworks-api keys create|list|revoke` (the functions, and the binary), and `--help`.

use std::process::Command;

use axum::http::StatusCode;
use sqlx::PgPool;
use tokworks_api::config::KeysCommand;
use tokworks_api::keys_cli::run_keys_command;

use crate::support::TestApp;

async fn run(pool: &PgPool, command: KeysCommand) -> String {
    let mut out = Vec::new();
    run_keys_command(pool, &command, &mut out).await.unwrap();
    String::from_utf8(out).unwrap()
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn a_created_key_works_is_listed_by_prefix_only_and_stops_working_when_revoked(pool: PgPool) {
    let mut app = TestApp::new(pool.clone()).await;
    let output = run(
        &pool,
        KeysCommand::Create {
            name: "ci pipeline".to_owned(),
            limits: Default::default(),
        },
    )
    .await;
    let key = output.lines().next().unwrap().to_owned();
    assert!(key.starts_with("tok_") && key.len() == 47, "{output}");
    app.key = key.clone();
    assert_eq!(app.get("/v1/jobs").await.status, StatusCode::OK);

    let (prefix, matches_hash): (String, bool) = sqlx::query_as(
        "select key_prefix, key_sha256 = sha256(convert_to($1, 'UTF8')) from api_keys
         where name = 'ci pipeline'",
    )
    .bind(&key)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        prefix,
        key[..8],
        "only a display prefix and the SHA-256 are stored"
    );
    assert!(matches_hash);

    let listing = run(&pool, KeysCommand::List).await;
    assert!(
        listing.contains("ci pipeline") && listing.contains(&key[..8]),
        "{listing}"
    );
    assert!(!listing.contains(&key), "{listing}");

    let id = listing
        .lines()
        .find(|line| line.contains("ci pipeline"))
        .and_then(|line| line.split('\t').next())
        .unwrap()
        .parse()
        .unwrap();
    let revoked = run(&pool, KeysCommand::Revoke { id }).await;
    assert!(revoked.starts_with("revoked"), "{revoked}");
    app.get("/v1/jobs")
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    assert!(run(&pool, KeysCommand::List).await.contains("revoked"));
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn revoking_an_unknown_key_fails(pool: PgPool) {
    let mut out = Vec::new();
    let result = run_keys_command(
        &pool,
        &KeysCommand::Revoke {
            id: tokworks_shared::ids::ApiKeyId::new_v7(),
        },
        &mut out,
    )
    .await;
    assert!(result.is_err());
}

#[sqlx::test(migrator = "tokworks_shared::db::MIGRATOR")]
async fn the_binary_creates_a_key_against_the_database(pool: PgPool) {
    let base = std::env::var("DATABASE_URL").expect("DATABASE_URL must be set for these tests");
    let database = pool.connect_options().get_database().unwrap().to_owned();
    let url = url_with_database(&base, &database);
    let output = Command::new(env!("CARGO_BIN_EXE_tokworks-api"))
        .args(["keys", "create", "--name", "from the binary"])
        .env("DATABASE_URL", &url)
        .env_remove("REDIS_URL")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let key = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_owned();
    assert!(key.starts_with("tok_"));
    let names: Vec<String> = sqlx::query_scalar("select name from api_keys")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(names, vec!["from the binary".to_owned()]);
}

fn url_with_database(base: &str, database: &str) -> String {
    let (without_query, query) = match base.split_once('?') {
        Some((url, query)) => (url, format!("?{query}")),
        None => (base, String::new()),
    };
    let authority_end = without_query
        .find("://")
        .map(|scheme_end| scheme_end + 3)
        .and_then(|start| without_query[start..].find('/').map(|slash| start + slash))
        .unwrap_or(without_query.len());
    format!("{}/{database}{query}", &without_query[..authority_end])
}

#[test]
fn help_lists_every_environment_variable() {
    let output = Command::new(env!("CARGO_BIN_EXE_tokworks-api"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8(output.stdout).unwrap();
    for variable in [
        "DATABASE_URL",
        "REDIS_URL",
        "QUEUE_NAMESPACE",
        "BIND_ADDR",
        "API_KEY",
        "ITEM_MAX_ATTEMPTS",
        "MAX_REQUEST_BODY_BYTES",
        "WAIT_MAX_SECONDS",
    ] {
        assert!(
            help.contains(&format!("env: {variable}")),
            "{variable} missing from:\n{help}"
        );
    }
}
