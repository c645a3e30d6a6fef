//! Everything one running simulator shares between its connections: the models, the fault table,
//! the request log, counters, knobs and the certificate authority.

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use crate::control::counters::Counters;
use crate::control::request_log::{LogEntry, RequestLog};
use crate::faults::FaultEngine;
use crate::faults::cases::CaseEntry;
use crate::faults::rate_limit::RateLimit;
use crate::openai::OpenAiKnobs;
use crate::server::tls::CertificateAuthority;
use crate::site::TiktokSite;

#[derive(Debug)]
pub struct SimState {
    pub site: Arc<TiktokSite>,
    pub faults: FaultEngine,
    /// TikTok requests this listener (one proxy's address) answers per second before 429.
    pub rate_limit: RateLimit,
    pub fault_cases: Vec<CaseEntry>,
    pub request_log: RequestLog,
    pub counters: Counters,
    pub openai_knobs: RwLock<OpenAiKnobs>,
    pub certificates: CertificateAuthority,
    pub seed: u64,
    pub video_count: usize,
    pub now_unix: i64,
    pub addr: SocketAddr,
    pub started: Instant,
    /// Print each log entry as a JSON line on stderr.
    pub print_requests: bool,
}

impl SimState {
    /// Logs and counts one answered request.
    pub fn record(&self, entry: LogEntry) {
        self.counters
            .record(&entry.route, entry.status, entry.fault.as_deref());
        if self.print_requests {
            let mut printed = entry.clone();
            printed.seq = self.request_log.push(entry);
            if let Ok(line) = serde_json::to_string(&printed) {
                eprintln!("{line}");
            }
        } else {
            self.request_log.push(entry);
        }
    }

    pub fn openai_knobs(&self) -> OpenAiKnobs {
        self.openai_knobs
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    pub fn set_openai_knobs(&self, knobs: OpenAiKnobs) {
        *self
            .openai_knobs
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = knobs;
    }
}
