//! The server's shared state: the store behind a lock, the clock tests can
//! move, and the latency that plays a server far away.

use std::{
    fmt,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::Duration,
};

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};

use crate::store::Store;

/// The furthest [`AppState::advance_clock`] moves the server's clock from
/// the real one: a thousand years, far past any expiry the API allows.
pub const MAX_CLOCK_OFFSET: TimeDelta = TimeDelta::days(365_250);

/// Shared state: the store behind a lock, and the server's clock.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Shared>,
}

struct Shared {
    store: Mutex<Store>,
    clock_offset: Mutex<TimeDelta>,
    latency: Duration,
}

impl AppState {
    /// State around a store.
    pub fn new(store: Store) -> Self {
        Self::with_latency(store, Duration::ZERO)
    }

    /// State around a store whose every response is delayed by `latency`,
    /// as a server that far away would be.
    pub fn with_latency(store: Store, latency: Duration) -> Self {
        Self {
            inner: Arc::new(Shared {
                store: Mutex::new(store),
                clock_offset: Mutex::new(TimeDelta::zero()),
                latency,
            }),
        }
    }

    /// The store. Handlers never panic while holding it, and a poisoned lock
    /// is recovered rather than failing every later request.
    pub fn store(&self) -> MutexGuard<'_, Store> {
        self.inner
            .store
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The server's now: UTC, in microseconds as a database keeps it, moved by
    /// [`advance_clock`](Self::advance_clock).
    pub fn now(&self) -> DateTime<Utc> {
        let offset = *self
            .inner
            .clock_offset
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // The offset is within MAX_CLOCK_OFFSET (advance_clock clamps it),
        // so this sum stays far inside chrono's dates.
        (Utc::now() + offset).trunc_subsecs(6)
    }

    /// How long every response is delayed.
    pub(crate) fn latency(&self) -> Duration {
        self.inner.latency
    }

    /// Moves the server's clock forward, to let keys expire in tests. The
    /// offset saturates at [`MAX_CLOCK_OFFSET`] either way, so no step
    /// overflows the clock.
    pub fn advance_clock(&self, by: TimeDelta) {
        let mut offset = self
            .inner
            .clock_offset
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let moved = offset
            .checked_add(&by)
            .unwrap_or(if by > TimeDelta::zero() {
                MAX_CLOCK_OFFSET
            } else {
                -MAX_CLOCK_OFFSET
            });
        *offset = moved.clamp(-MAX_CLOCK_OFFSET, MAX_CLOCK_OFFSET);
    }
}

impl fmt::Debug for AppState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}
