//! A Server-Sent Events parser for the job event stream (`GET /v1/jobs/{id}/events`): bytes in,
//! whole events out, whatever the chunk boundaries.

/// One event of the stream.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Event {
    pub id: Option<String>,
    pub name: String,
    pub data: String,
}

/// Accumulates chunks and yields complete events (the WHATWG event-stream rules that the api
/// uses: `event:`, `data:` (joined by newlines), `id:`, comments, blank line ends an event).
#[derive(Debug, Default)]
pub struct EventParser {
    pending: Vec<u8>,
    current: Event,
    has_field: bool,
}

impl EventParser {
    /// Feeds a chunk; returns the events it completed.
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<Event> {
        self.pending.extend_from_slice(chunk);
        let mut events = Vec::new();
        while let Some(end) = self.pending.iter().position(|byte| *byte == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end_matches(['\n', '\r']);
            if line.is_empty() {
                if self.has_field {
                    let mut event = std::mem::take(&mut self.current);
                    if event.name.is_empty() {
                        "message".clone_into(&mut event.name);
                    }
                    events.push(event);
                    self.has_field = false;
                }
                continue;
            }
            if line.starts_with(':') {
                continue;
            }
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "event" => value.clone_into(&mut self.current.name),
                "data" => {
                    if !self.current.data.is_empty() {
                        self.current.data.push('\n');
                    }
                    self.current.data.push_str(value);
                }
                "id" => self.current.id = Some(value.to_owned()),
                _ => continue,
            }
            self.has_field = true;
        }
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const STREAM: &str = ": keep-alive\nid: 1\nevent: state\ndata: {\"a\":1}\n\nid: 2\nevent: end\ndata: x\ndata: y\n\n";

    #[test]
    fn events_comments_and_multi_line_data() {
        let events = EventParser::default().feed(STREAM.as_bytes());
        assert_eq!(
            events,
            [
                Event {
                    id: Some("1".into()),
                    name: "state".into(),
                    data: "{\"a\":1}".into()
                },
                Event {
                    id: Some("2".into()),
                    name: "end".into(),
                    data: "x\ny".into()
                },
            ]
        );
    }

    proptest! {
        #[test]
        fn chunk_boundaries_do_not_matter(cuts in proptest::collection::vec(0usize..STREAM.len(), 0..8)) {
            let mut cuts = cuts;
            cuts.sort_unstable();
            let mut parser = EventParser::default();
            let mut events = Vec::new();
            let mut start = 0;
            for cut in cuts.into_iter().chain([STREAM.len()]) {
                events.extend(parser.feed(&STREAM.as_bytes()[start..cut]));
                start = cut;
            }
            prop_assert_eq!(events, EventParser::default().feed(STREAM.as_bytes()));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = EventParser::default().feed(&bytes);
        }
    }
}
