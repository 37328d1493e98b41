//! Where a rotation hands its new secret: a trait the caller implements
//! (a file, a vault, a process's standard output), so the engine never
//! decides where secrets live and never keeps one.

use std::future::Future;

use crate::{Secret, rotation::Entry, types::ApiKeyInfo};

/// What a sink is told of the key whose secret it receives.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Handover<'a> {
    /// The new key, as the create returned it.
    pub new_key: &'a ApiKeyInfo,
    /// The key it replaces.
    pub old_key: &'a ApiKeyInfo,
}

/// Why a sink did not take a secret: the engine undoes the rotation.
pub type DeliveryError = Box<dyn std::error::Error + Send + Sync>;

/// A place for new secrets. The engine calls [`deliver`](Self::deliver)
/// once per rotation, after recording that the secret is on its way, and
/// retires the old key only after it returned `Ok`.
pub trait Deliver: Send + Sync {
    /// Hands `secret` over; `Ok` only once the sink holds it. Returns where
    /// it went, in words (never the secret).
    fn deliver(
        &self,
        secret: &Secret,
        key: Handover<'_>,
    ) -> impl Future<Output = Result<String, DeliveryError>> + Send;

    /// Where the secret of the key replacing `old` will go, in words, for
    /// the journal and a dry run.
    fn target(&self, old: &ApiKeyInfo) -> String;

    /// What this sink needs to find the secret again after a crash (such
    /// as a file's path), recorded in the journal; `None` (the default)
    /// when it cannot look.
    fn locator(&self, old: &ApiKeyInfo) -> Option<String> {
        let _ = old;
        None
    }

    /// For resume: whether the secret of `new_key` (whose `hint` is the
    /// end of its secret) reached the sink of the rotation `entry`
    /// records. `Some(true)` finishes the rotation, `Some(false)` undoes
    /// it, and `None` (the default: it cannot tell) names it for a human.
    fn holds(
        &self,
        entry: &Entry,
        new_key: &ApiKeyInfo,
    ) -> impl Future<Output = Option<bool>> + Send {
        let _ = (entry, new_key);
        async { None }
    }
}
