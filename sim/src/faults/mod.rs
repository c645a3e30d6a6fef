//! Fault injection: the rule table (from flags, built-in cases and the control API), global
//! latency/jitter, and the deterministic decision of which fault a request gets.

pub mod cases;
pub mod challenge;
pub mod layout_drift;
pub mod rate_limit;
pub mod rules;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;

pub use rules::{FaultKind, FaultMatch, FaultRuleError, FaultRuleSpec, MatchSubject};

/// Where a rule came from; `POST /_sim/reset` and `DELETE /_sim/faults` remove only `runtime` rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleOrigin {
    /// Attached to a spare video at start (`GET /_sim/cases`).
    Builtin,
    /// From `--fault` / `SimConfig::faults`.
    Startup,
    /// Added with `POST /_sim/faults`.
    Runtime,
}

/// A rule in the table, as listed by `GET /_sim/faults`.
#[derive(Debug, Clone, Serialize)]
pub struct ActiveRule {
    pub id: u64,
    pub origin: RuleOrigin,
    #[serde(flatten)]
    pub spec: FaultRuleSpec,
    /// How many requests got this rule's fault so far.
    pub applied: u64,
    #[serde(skip)]
    rule_key: u64,
}

/// Global delay applied to every TikTok request (`--latency-ms`, `--jitter-ms`, `POST /_sim/config`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct LatencyConfig {
    #[serde(default)]
    pub latency_ms: u64,
    #[serde(default)]
    pub jitter_ms: u64,
}

/// The fault picked for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppliedFault {
    pub kind: FaultKind,
    pub rule_id: u64,
    pub retry_after_secs: Option<u64>,
}

/// What the front door must do to one TikTok request before (or instead of) asking the site.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaultDecision {
    /// Global latency plus every applied rule's latency and jitter.
    pub delay: Duration,
    /// The first applied rule whose kind is not `latency`.
    pub fault: Option<AppliedFault>,
    /// A challenge rule matched but the request carried the solved cookie.
    pub challenge_solved: bool,
}

#[derive(Debug)]
struct EngineState {
    rules: Vec<ActiveRule>,
    next_id: u64,
    latency: LatencyConfig,
    /// Per (rule id, path) evaluation counters feeding the deterministic hash; rule id 0 is the global jitter.
    path_counters: HashMap<(u64, String), u64>,
}

/// The rule table. Thread-safe; one lock per request.
#[derive(Debug)]
pub struct FaultEngine {
    seed: u64,
    initial_latency: LatencyConfig,
    state: Mutex<EngineState>,
}

impl FaultEngine {
    pub fn new(seed: u64, latency: LatencyConfig) -> Self {
        FaultEngine {
            seed,
            initial_latency: latency,
            state: Mutex::new(EngineState {
                rules: Vec::new(),
                next_id: 1,
                latency,
                path_counters: HashMap::new(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, EngineState> {
        // A panic while holding the lock cannot leave the table inconsistent: recover it.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Adds a rule and returns its id.
    pub fn add(&self, spec: FaultRuleSpec, origin: RuleOrigin) -> u64 {
        let rule_key = stable_hash(&[spec_fingerprint(&spec).as_bytes()]);
        let mut state = self.lock();
        let id = state.next_id;
        state.next_id += 1;
        state.rules.push(ActiveRule {
            id,
            origin,
            spec,
            applied: 0,
            rule_key,
        });
        id
    }

    pub fn list(&self) -> Vec<ActiveRule> {
        self.lock().rules.clone()
    }

    /// Removes one rule; `false` if there was none with this id.
    pub fn remove(&self, id: u64) -> bool {
        let mut state = self.lock();
        let before = state.rules.len();
        state.rules.retain(|rule| rule.id != id);
        state.path_counters.retain(|(rule_id, _), _| *rule_id != id);
        state.rules.len() != before
    }

    /// Removes every runtime rule; returns how many.
    pub fn remove_runtime(&self) -> usize {
        let mut state = self.lock();
        let before = state.rules.len();
        state
            .rules
            .retain(|rule| rule.origin != RuleOrigin::Runtime);
        before - state.rules.len()
    }

    /// `POST /_sim/reset`: drops runtime rules, zeroes `applied` and the hash counters, restores the
    /// start-up latency.
    pub fn reset(&self) {
        let mut state = self.lock();
        state
            .rules
            .retain(|rule| rule.origin != RuleOrigin::Runtime);
        for rule in &mut state.rules {
            rule.applied = 0;
        }
        state.path_counters.clear();
        state.latency = self.initial_latency;
    }

    pub fn latency(&self) -> LatencyConfig {
        self.lock().latency
    }

    pub fn set_latency(&self, latency: LatencyConfig) {
        self.lock().latency = latency;
    }

    /// Decides the delay and fault for one request to a TikTok host. `challenge_solved` is asked
    /// only when a challenge rule matches; a solved request passes that rule without using it up.
    pub fn decide(
        &self,
        subject: &MatchSubject<'_>,
        challenge_solved: &dyn Fn() -> bool,
    ) -> FaultDecision {
        let mut state = self.lock();
        let mut decision = FaultDecision::default();
        let latency = state.latency;
        if latency.latency_ms > 0 || latency.jitter_ms > 0 {
            let jitter = if latency.jitter_ms > 0 {
                let draw = self.draw(&mut state.path_counters, 0, 0, subject.path);
                draw % (latency.jitter_ms + 1)
            } else {
                0
            };
            decision.delay += Duration::from_millis(latency.latency_ms + jitter);
        }
        let seed = self.seed;
        let EngineState {
            rules,
            path_counters,
            ..
        } = &mut *state;
        for rule in rules.iter_mut() {
            if !rule.spec.matcher.matches(subject) {
                continue;
            }
            if rule.spec.times.is_some_and(|times| rule.applied >= times) {
                continue;
            }
            if rule.spec.fault == FaultKind::Challenge && challenge_solved() {
                decision.challenge_solved = true;
                continue;
            }
            if rule.spec.probability < 1.0 {
                let draw = draw_with(seed, path_counters, rule.id, rule.rule_key, subject.path);
                let unit = (draw >> 11) as f64 / (1u64 << 53) as f64;
                if unit >= rule.spec.probability {
                    continue;
                }
            }
            rule.applied += 1;
            let mut delay_ms = rule.spec.latency_ms;
            if rule.spec.jitter_ms > 0 {
                let draw = draw_with(
                    seed,
                    path_counters,
                    rule.id,
                    rule.rule_key ^ 0x6a09_e667,
                    subject.path,
                );
                delay_ms += draw % (rule.spec.jitter_ms + 1);
            }
            decision.delay += Duration::from_millis(delay_ms);
            if rule.spec.fault != FaultKind::Latency {
                decision.fault = Some(AppliedFault {
                    kind: rule.spec.fault,
                    rule_id: rule.id,
                    retry_after_secs: rule.spec.retry_after_secs,
                });
                break;
            }
        }
        decision
    }

    fn draw(
        &self,
        counters: &mut HashMap<(u64, String), u64>,
        rule_id: u64,
        rule_key: u64,
        path: &str,
    ) -> u64 {
        draw_with(self.seed, counters, rule_id, rule_key, path)
    }
}

/// Next deterministic 64-bit draw for (seed, rule, path, per-path counter).
fn draw_with(
    seed: u64,
    counters: &mut HashMap<(u64, String), u64>,
    rule_id: u64,
    rule_key: u64,
    path: &str,
) -> u64 {
    let counter = counters.entry((rule_id, path.to_string())).or_insert(0);
    let value = stable_hash(&[
        &seed.to_le_bytes(),
        &rule_key.to_le_bytes(),
        path.as_bytes(),
        &counter.to_le_bytes(),
    ]);
    *counter += 1;
    value
}

/// The rule's JSON without its id: equal rules decide equally whatever their position.
fn spec_fingerprint(spec: &FaultRuleSpec) -> String {
    serde_json::to_string(spec).unwrap_or_default()
}

/// FNV-1a over the parts (with separators), finished with splitmix64. Stable across runs and
/// Rust versions, unlike `DefaultHasher`.
pub fn stable_hash(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.iter().chain(std::iter::once(&0xffu8)) {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash = hash.wrapping_add(0x9e37_79b9_7f4a_7c15);
    hash = (hash ^ (hash >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    hash = (hash ^ (hash >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    hash ^ (hash >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject(path: &str) -> MatchSubject<'_> {
        MatchSubject::new("www.tiktok.com", path, None)
    }

    #[test]
    fn times_limits_applications() {
        let engine = FaultEngine::new(1, LatencyConfig::default());
        let mut spec = FaultRuleSpec::new(FaultMatch::PathPrefix("/a".into()), FaultKind::Http500);
        spec.times = Some(2);
        engine.add(spec, RuleOrigin::Runtime);
        let kinds: Vec<_> = (0..4)
            .map(|_| {
                engine
                    .decide(&subject("/a"), &|| false)
                    .fault
                    .map(|f| f.kind)
            })
            .collect();
        assert_eq!(
            kinds,
            vec![
                Some(FaultKind::Http500),
                Some(FaultKind::Http500),
                None,
                None
            ]
        );
    }

    #[test]
    fn probability_is_deterministic_per_seed() {
        let run = |seed| {
            let engine = FaultEngine::new(seed, LatencyConfig::default());
            let mut spec = FaultRuleSpec::new(FaultMatch::All(true), FaultKind::Http503);
            spec.probability = 0.5;
            engine.add(spec, RuleOrigin::Startup);
            (0..64)
                .map(|i| {
                    engine
                        .decide(&subject(&format!("/p{}", i % 4)), &|| false)
                        .fault
                        .is_some()
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
        let hits = run(7).iter().filter(|hit| **hit).count();
        assert!((16..=48).contains(&hits), "{hits}");
    }

    #[test]
    fn latency_rules_accumulate_and_solved_challenge_passes() {
        let engine = FaultEngine::new(
            1,
            LatencyConfig {
                latency_ms: 5,
                jitter_ms: 0,
            },
        );
        let mut latency = FaultRuleSpec::new(FaultMatch::All(true), FaultKind::Latency);
        latency.latency_ms = 10;
        engine.add(latency, RuleOrigin::Runtime);
        engine.add(
            FaultRuleSpec::new(FaultMatch::All(true), FaultKind::Challenge),
            RuleOrigin::Runtime,
        );
        let decision = engine.decide(&subject("/x"), &|| false);
        assert_eq!(decision.delay, Duration::from_millis(15));
        assert_eq!(decision.fault.map(|f| f.kind), Some(FaultKind::Challenge));
        let solved = engine.decide(&subject("/x"), &|| true);
        assert!(solved.challenge_solved);
        assert_eq!(solved.fault, None);
        engine.reset();
        assert!(engine.list().is_empty());
        assert_eq!(engine.latency().latency_ms, 5);
    }
}
