//! Logging set-up shared by the binaries: `RUST_LOG` (filter) and `LOG_FORMAT` (`text` or
//! `json`), always on stderr; text output carries ANSI colours only when stderr is a terminal.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::util::SubscriberInitExt;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event, with the fields of its spans (request id, job id…).
    #[default]
    Text,
    /// One JSON object per line: `timestamp`, `level`, `target`, the event's fields at the top
    /// level, `span` (innermost) and `spans` (all, outermost first) with their fields.
    Json,
}

/// The subscriber `init_logging` installs, writing to `writer` (tests capture it). An invalid
/// `filter` falls back to `info`.
pub fn log_subscriber<W>(
    filter: &str,
    format: LogFormat,
    writer: W,
    ansi: bool,
) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'writer> MakeWriter<'writer> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    match format {
        LogFormat::Text => Box::new(builder.with_ansi(ansi).finish()),
        LogFormat::Json => Box::new(
            builder
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .with_span_list(true)
                .finish(),
        ),
    }
}

/// Installs the process-wide subscriber: `filter` in tracing's `EnvFilter` syntax, `format`,
/// on stderr (colours only on a terminal).
pub fn init_logging(filter: &str, format: LogFormat) {
    let ansi = std::io::stderr().is_terminal();
    log_subscriber(filter, format, std::io::stderr, ansi).init();
}

/// A `MakeWriter` into a shared buffer, for tests that check log lines.
#[derive(Debug, Clone, Default)]
pub struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl CapturedLogs {
    /// Everything written so far.
    pub fn text(&self) -> String {
        let bytes = self.0.lock().map(|bytes| bytes.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl std::io::Write for CapturedLogs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut buffer) = self.0.lock() {
            buffer.extend_from_slice(bytes);
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'writer> MakeWriter<'writer> for CapturedLogs {
    type Writer = CapturedLogs;

    fn make_writer(&'writer self) -> CapturedLogs {
        self.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log_one_line_in_a_span(format: LogFormat, ansi: bool) -> String {
        let captured = CapturedLogs::default();
        let subscriber = log_subscriber("info", format, captured.clone(), ansi);
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("extract_item", job_id = "j-1", item_id = "i-2");
            let _entered = span.enter();
            tracing::info!(attempt = 1, "extracting");
        });
        captured.text()
    }

    #[test]
    fn json_lines_carry_the_span_fields() {
        let output = log_one_line_in_a_span(LogFormat::Json, false);
        let line: serde_json::Value = serde_json::from_str(output.trim()).unwrap();
        assert_eq!(line["message"], "extracting");
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["attempt"], 1);
        assert_eq!(line["span"]["job_id"], "j-1");
        assert_eq!(line["spans"][0]["item_id"], "i-2");
    }

    #[test]
    fn text_lines_have_no_colour_codes_off_a_terminal() {
        let output = log_one_line_in_a_span(LogFormat::Text, false);
        assert!(!output.contains('\u{1b}'), "ANSI escape in {output:?}");
        assert!(output.contains("job_id=\"j-1\""), "{output}");
        assert!(output.contains("item_id=\"i-2\""), "{output}");
        assert!(output.contains("extracting"), "{output}");
    }
}
