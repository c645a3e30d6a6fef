//! The claims this process's handlers are working on right now. Lease renewal extends exactly
//! these: a handler that panicked or was dropped leaves the set (its guard is dropped while
//! unwinding), so its item's lease runs out and another worker takes the item over — instead of
//! the heartbeat renewing a lease nobody works under until the process restarts.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};
use tokworks_shared::ids::ClaimId;

/// A shared set of claim ids, one per item a handler of this process holds.
#[derive(Debug, Clone, Default)]
pub struct ActiveClaims {
    claim_ids: Arc<Mutex<HashSet<ClaimId>>>,
}

impl ActiveClaims {
    /// Records `claim_id` as worked on until the returned guard is dropped.
    #[must_use = "the claim counts as worked on only while the guard lives"]
    pub fn hold(&self, claim_id: ClaimId) -> ActiveClaimGuard {
        self.lock().insert(claim_id);
        ActiveClaimGuard {
            claims: self.clone(),
            claim_id,
        }
    }

    /// The claims held now.
    pub fn snapshot(&self) -> Vec<ClaimId> {
        self.lock().iter().copied().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<ClaimId>> {
        // The set stays consistent even if a holder panicked: insert/remove are single steps.
        self.claim_ids
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Removes its claim from the set when dropped (on return, on panic, on cancellation).
#[derive(Debug)]
pub struct ActiveClaimGuard {
    claims: ActiveClaims,
    claim_id: ClaimId,
}

impl Drop for ActiveClaimGuard {
    fn drop(&mut self) {
        self.claims.lock().remove(&self.claim_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_is_held_until_its_guard_drops_even_by_a_panic() {
        let claims = ActiveClaims::default();
        let (first, second) = (ClaimId::new_v7(), ClaimId::new_v7());
        let first_guard = claims.hold(first);
        let panicking = {
            let claims = claims.clone();
            std::thread::spawn(move || {
                let _guard = claims.hold(second);
                panic!("a handler bug");
            })
        };
        assert!(panicking.join().is_err());
        assert_eq!(claims.snapshot(), vec![first]);
        drop(first_guard);
        assert!(claims.snapshot().is_empty());
    }
}
