//! The URL lists `tokworks submit` reads: one URL per line (blank lines and `#` comments
//! skipped), or CSV with a `url` column and an optional `custom_id` column.

use serde::Serialize;

/// One URL to submit, with the caller's own id for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_id: Option<String>,
}

/// Why an input file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("the CSV header has no `url` column")]
    NoUrlColumn,
    #[error("CSV line {line}: {message}")]
    Csv { line: u64, message: String },
    #[error("the input holds no URL")]
    Empty,
}

/// Parses `text`: CSV when its first non-empty line is a header naming a `url` column (comma
/// separated), else one URL per line.
pub fn parse_entries(text: &str) -> Result<Vec<Entry>, InputError> {
    let first = text.lines().map(str::trim).find(|line| !line.is_empty());
    let is_csv = first.is_some_and(|line| {
        line.contains(',')
            && line
                .split(',')
                .any(|column| column.trim().trim_matches('"').eq_ignore_ascii_case("url"))
    });
    let entries = if is_csv {
        parse_csv(text)?
    } else {
        text.lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .map(|line| Entry {
                url: line.to_owned(),
                custom_id: None,
            })
            .collect()
    };
    if entries.is_empty() {
        return Err(InputError::Empty);
    }
    Ok(entries)
}

fn parse_csv(text: &str) -> Result<Vec<Entry>, InputError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|error| InputError::Csv {
            line: 1,
            message: error.to_string(),
        })?
        .clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|header| header.eq_ignore_ascii_case(name))
    };
    let url_column = column("url").ok_or(InputError::NoUrlColumn)?;
    let custom_id_column = column("custom_id");
    let mut entries = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|error| InputError::Csv {
            line: error.position().map_or(0, csv::Position::line),
            message: error.to_string(),
        })?;
        let Some(url) = record.get(url_column).filter(|url| !url.is_empty()) else {
            continue;
        };
        entries.push(Entry {
            url: url.to_owned(),
            custom_id: custom_id_column
                .and_then(|index| record.get(index))
                .filter(|id| !id.is_empty())
                .map(str::to_owned),
        });
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn plain_lists_skip_blanks_and_comments() {
        let entries =
            parse_entries("# mine\nhttps://vm.tiktok.com/a/\n\n  https://x/y  \n").unwrap();
        let urls: Vec<_> = entries.iter().map(|entry| entry.url.as_str()).collect();
        assert_eq!(urls, ["https://vm.tiktok.com/a/", "https://x/y"]);
    }

    #[test]
    fn csv_with_url_and_custom_id_columns_in_any_order() {
        let text = "custom_id,url,note\nrow-1,https://a/1,x\n,https://a/2,\nrow-3,,\n";
        let entries = parse_entries(text).unwrap();
        assert_eq!(
            entries,
            [
                Entry {
                    url: "https://a/1".into(),
                    custom_id: Some("row-1".into())
                },
                Entry {
                    url: "https://a/2".into(),
                    custom_id: None
                },
            ]
        );
    }

    #[test]
    fn csv_without_url_column_and_empty_input_are_errors() {
        assert!(matches!(parse_entries("a,b\n1,2\n"), Ok(entries) if entries.len() == 2));
        assert!(matches!(
            parse_entries("\n# nothing\n"),
            Err(InputError::Empty)
        ));
    }

    proptest! {
        #[test]
        fn any_text_parses_or_fails_cleanly(text in "\\PC{0,200}") {
            let _ = parse_entries(&text);
        }

        #[test]
        fn every_plain_line_becomes_one_entry(lines in proptest::collection::vec("[a-z0-9:/._-]{1,40}", 1..20)) {
            let text = lines.join("\n");
            let entries = parse_entries(&text).unwrap();
            prop_assert_eq!(entries.len(), lines.iter().filter(|line| !line.starts_with('#')).count());
        }
    }
}
