//! Every setting is documented: the environment variables that `tokworks-api --help` and
//! `tokworks-worker --help` list (their clap definitions) are exactly the ones `.env.example`
//! names (set or as `# NAME=` comments, plus compose-only variables), and each has a row in the
//! README's Configuration table.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use crate::harness::workspace_binary;

/// Variables of `.env.example` that only docker compose reads (or the simulator, optionally).
const NOT_READ_BY_API_OR_WORKER: [&str; 6] = [
    "POSTGRES_PASSWORD",
    "TOKWORKS_PORT",
    "PROMETHEUS_PORT",
    "GRAFANA_PORT",
    "GRAFANA_ADMIN_PASSWORD",
    "TOKWORKS_SIM_OPENAI_KEY",
];

fn repository_file(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// The names after `[env: ` in a `--help` text (clap may wrap after the colon).
fn env_names_in_help(binary: &str) -> BTreeSet<String> {
    let output = Command::new(workspace_binary(binary))
        .arg("--help")
        .output()
        .unwrap_or_else(|error| panic!("{binary} --help: {error}"));
    assert!(output.status.success(), "{binary} --help failed");
    let help = String::from_utf8(output.stdout).expect("--help is UTF-8");
    help.split("[env:")
        .skip(1)
        .map(|rest| {
            rest.trim_start()
                .chars()
                .take_while(|character| {
                    character.is_ascii_uppercase()
                        || character.is_ascii_digit()
                        || *character == '_'
                })
                .collect::<String>()
        })
        .filter(|name| !name.is_empty())
        .collect()
}

/// `NAME` of every `NAME=…` and `# NAME=…` line.
fn env_names_in_env_example(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim_start_matches('#').trim_start();
            let (name, _) = line.split_once('=')?;
            let mut characters = name.chars();
            let starts_with_letter = characters
                .next()
                .is_some_and(|first| first.is_ascii_uppercase());
            let rest_is_name = characters.all(|character| {
                character.is_ascii_uppercase() || character.is_ascii_digit() || character == '_'
            });
            (starts_with_letter && rest_is_name).then(|| name.to_owned())
        })
        .collect()
}

#[test]
fn env_example_help_and_readme_list_the_same_settings() {
    let mut read = env_names_in_help("tokworks-api");
    assert!(
        read.contains("API_KEY") && read.contains("LOG_FORMAT"),
        "{read:?}"
    );
    let worker = env_names_in_help("tokworks-worker");
    assert!(
        worker.contains("WORKER_METRICS_ADDR") && worker.contains("RUST_LOG"),
        "{worker:?}"
    );
    read.extend(worker);
    let listed = env_names_in_env_example(&repository_file(".env.example"));
    let missing: Vec<_> = read.difference(&listed).collect();
    assert!(missing.is_empty(), ".env.example does not name {missing:?}");
    let unknown: Vec<_> = listed
        .iter()
        .filter(|name| !read.contains(*name) && !NOT_READ_BY_API_OR_WORKER.contains(&name.as_str()))
        .collect();
    assert!(
        unknown.is_empty(),
        ".env.example names {unknown:?}, which no binary reads"
    );
    let readme = repository_file("README.md");
    let undocumented: Vec<_> = read
        .iter()
        .filter(|name| !readme.contains(&format!("| `{name}` |")))
        .collect();
    assert!(
        undocumented.is_empty(),
        "README's Configuration table has no row for {undocumented:?}"
    );
}

#[test]
fn env_example_lines_are_read_with_and_without_comment_marks() {
    let names = env_names_in_env_example(
        "# A comment = not a name\nAPI_KEY=x\n# METRICS_TOKEN=\n#   openssl rand | tr -d '='\nlower=1\n",
    );
    assert_eq!(
        names,
        BTreeSet::from(["API_KEY".to_owned(), "METRICS_TOKEN".to_owned()])
    );
}
