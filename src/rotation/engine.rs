//! The rotation engine: one state machine (create, deliver, retire) for a
//! single key or a fleet, each step recorded in a [`Journal`] before it is
//! taken, each secret handed to a [`Deliver`] sink, and resume, which
//! settles every rotation a stopped run left open.

use std::{
    collections::{BTreeSet, HashMap},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use chrono::{DateTime, TimeDelta, Utc};
use futures_util::{StreamExt, stream};

use crate::{
    Client, Error,
    policy::is_active,
    rotation::{
        Deliver, DeliveryError, Entry, Handover, Journal, JournalError, Memory, OldExpiry, OldKey,
        Retire, Retirement, Rotation, RotationPlan, Step, list_user, now_utc, restore_expiry,
        steps::{gone_is_done, retire},
    },
    types::ApiKeyInfo,
};

/// How far before a journalled create a key it made may say it was made
/// (the server's clock against this machine's).
const CLOCK_SKEW: TimeDelta = TimeDelta::minutes(5);

/// Rotations started per phase, as a multiple of the concurrency: a
/// phase's creates finish before its users' keys are read once for all of
/// them, then its secrets are delivered.
const PHASE_ROUNDS: usize = 4;

/// Asks a running [`Rotator`] to start nothing new: the rotations in
/// flight finish (delivered or undone), the rest are not attempted. Clone
/// it into a signal handler.
#[derive(Debug, Clone, Default)]
pub struct Stop(Arc<AtomicBool>);

impl Stop {
    /// A stop not yet requested.
    pub fn new() -> Self {
        Self::default()
    }

    /// Requests the stop.
    pub fn request(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether the stop was requested.
    pub fn requested(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// What stopped a rotation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Cause {
    /// A call failed (for a plan's steps, an [`Error::Rotation`] that says
    /// which step and what became of the old key's expiry).
    #[error(transparent)]
    Call(Error),
    /// The sink did not take the secret.
    #[error("the secret was not delivered: {0}")]
    Delivery(DeliveryError),
    /// The journal could not record the next step, so it was not taken.
    #[error(transparent)]
    Journal(JournalError),
}

/// Why a key was refused before anything was changed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// The journal holds an open rotation of this key: resume it first.
    Unfinished {
        /// How far it went.
        step: Step,
    },
    /// This key was rotated already, into a key the server still lists
    /// active (the old key is retiring): rotating it again would make a
    /// second live replacement.
    AlreadyRotated {
        /// The replacement.
        new_key_id: String,
    },
    /// This key may be the one the engine's client authenticates with
    /// ([`Client::may_be_own_key`]): retiring it would lock the engine out
    /// halfway through its work. [`Rotator::with_allow_self`] allows it.
    OwnKey,
}

/// How a rotation ended.
#[derive(Debug)]
#[non_exhaustive]
pub enum End {
    /// The secret was delivered; the old key is as [`OldKey`] says.
    /// [`OldKey::StillActive`] is left in the journal for
    /// [`Rotator::resume`] to retire.
    Rotated(OldKey),
    /// Refused before any step; nothing was changed.
    Refused(Refusal),
    /// Stopped, and nothing is left: no new key, the old key as it was.
    Undone(Cause),
    /// Stopped with something left (a new key nobody may hold, an expiry
    /// not put back, a delivered secret whose old key still works): the
    /// journal holds it for [`Rotator::resume`].
    Left(Cause),
}

/// One key's rotation.
#[derive(Debug)]
#[non_exhaustive]
pub struct Outcome {
    /// The key replaced (or to be).
    pub old_id: String,
    /// The new key, once one was made.
    pub new_id: Option<String>,
    /// Where the secret went, once delivered.
    pub secret_to: Option<String>,
    /// How it ended.
    pub end: End,
}

impl Outcome {
    fn new(old_id: &str, end: End) -> Self {
        Self {
            old_id: old_id.to_owned(),
            new_id: None,
            secret_to: None,
            end,
        }
    }

    /// Whether the key ended as asked: delivered, and the old key retired
    /// (or retiring).
    pub fn is_done(&self) -> bool {
        matches!(&self.end, End::Rotated(old) if !matches!(old, OldKey::StillActive(_)))
    }

    /// Whether something is left for [`Rotator::resume`] or a human.
    pub fn leaves_work(&self) -> bool {
        matches!(
            &self.end,
            End::Left(_) | End::Rotated(OldKey::StillActive(_))
        )
    }
}

/// What a run did, in the order of its plans.
#[derive(Debug)]
#[non_exhaustive]
pub struct Run {
    /// Each plan's outcome, for the plans that were attempted or refused.
    pub outcomes: Vec<Outcome>,
    /// Plans not attempted because a [`Stop`] was requested.
    pub not_attempted: usize,
}

/// How resume settled one open rotation.
#[derive(Debug)]
#[non_exhaustive]
pub enum Settlement {
    /// The secret had been delivered, and the old key is retired (as
    /// [`OldKey`] says).
    Finished(OldKey),
    /// The secret had reached nobody: no new key is left, and the old
    /// key works as before.
    Undone,
    /// This tool cannot tell; the keys are named for a human, never
    /// deleted on a guess.
    NeedsHuman {
        /// What to check.
        check: HumanCheck,
        /// The keys concerned.
        keys: Vec<String>,
    },
    /// Something failed (a listing, a call, the journal): nothing was
    /// decided, and the rotation stays open for the next resume.
    RunAgain(Cause),
}

/// What a human must check for a rotation resume could not settle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HumanCheck {
    /// The run stopped while creating the new key: these keys of the user,
    /// with the key's name, were made since; one may be what it created,
    /// whose secret nobody holds. The old key works as before; the
    /// rotation is settled as undone.
    StrayKeys,
    /// The secret may have reached its sink, which cannot say. If it did,
    /// retire the old key; if not, delete the new key; then resume again.
    /// The rotation stays open until then.
    DeliveryUnknown,
}

/// One open rotation, settled.
#[derive(Debug)]
#[non_exhaustive]
pub struct Settled {
    /// The journal's entry as resume found it.
    pub entry: Entry,
    /// What resume did.
    pub how: Settlement,
}

/// Rotates keys through one state machine, recording every step in a
/// journal before it is taken and handing every secret to a sink.
///
/// ```no_run
/// # async fn demo(client: h2ogpte_api_keys::Client, sink: impl h2ogpte_api_keys::rotation::Deliver) -> Result<(), Box<dyn std::error::Error>> {
/// use h2ogpte_api_keys::rotation::{MemoryJournal, Retire, Rotator};
///
/// let plan = client.plan_rotation("5f0c…", Retire::Deactivate).await?;
/// let rotator = Rotator::new(client, MemoryJournal::new(), sink);
/// let run = rotator.run(vec![plan.for_user("6f3c1f0e-…")], |_| {}).await?;
/// assert!(run.outcomes.iter().all(|o| o.is_done()));
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Rotator<J, D> {
    client: Client,
    journal: J,
    sink: D,
    concurrency: usize,
    stop: Stop,
    force: bool,
    allow_self: bool,
}

impl<J: Journal, D: Deliver> Rotator<J, D> {
    /// An engine over `client`, recording in `journal`, delivering to
    /// `sink`; one rotation at a time.
    pub fn new(client: Client, journal: J, sink: D) -> Self {
        Self {
            client,
            journal,
            sink,
            concurrency: 1,
            stop: Stop::new(),
            force: false,
            allow_self: false,
        }
    }

    /// Runs up to `n` rotations at once (at least one).
    pub fn with_concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// Stops starting new rotations once `stop` is requested.
    pub fn with_stop(mut self, stop: Stop) -> Self {
        self.stop = stop;
        self
    }

    /// Rotates a key again even when the journal says it was rotated into
    /// a key that is still live ([`Refusal::AlreadyRotated`]). An open
    /// rotation is never forced: resume it.
    pub fn with_force(mut self, force: bool) -> Self {
        self.force = force;
        self
    }

    /// Rotates the key the client authenticates with too, when asked
    /// ([`Refusal::OwnKey`]). Its retirement should come last: every call
    /// after it fails.
    pub fn with_allow_self(mut self, allow: bool) -> Self {
        self.allow_self = allow;
        self
    }

    /// How many rotations it runs at once.
    pub fn concurrency(&self) -> usize {
        self.concurrency
    }

    /// Its [`Stop`]: whoever holds a clone can ask this engine to stop,
    /// and work beside it can see that it was asked.
    pub fn stop(&self) -> &Stop {
        &self.stop
    }

    /// The client it calls with.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The journal.
    pub fn journal(&self) -> &J {
        &self.journal
    }

    /// The sink.
    pub fn sink(&self) -> &D {
        &self.sink
    }

    /// What the journal remembers now.
    pub async fn memory(&self) -> Result<Memory, JournalError> {
        Ok(Memory::new(self.journal.entries().await?))
    }

    /// Whether `old` may be rotated, from the journal's memory and, for a
    /// key rotated before, the listing of its user (`listed`): the refusal
    /// a run would give, or `None`.
    pub fn refusal(
        &self,
        memory: &Memory,
        old: &ApiKeyInfo,
        listed: &[ApiKeyInfo],
    ) -> Option<Refusal> {
        if !self.allow_self && self.client.may_be_own_key(old) {
            return Some(Refusal::OwnKey);
        }
        memory.refusal(old, listed, self.force, now_utc())
    }

    /// Rotates every plan and returns one outcome per plan, in their
    /// order; `each` sees each outcome as soon as it is known. A journal
    /// that cannot be read fails the run before anything is done.
    ///
    /// Plans go in phases of a few rounds: their creates, then one listing
    /// of each of their users (to check no old key was revoked meanwhile),
    /// then their deliveries and retirements. A [`Stop`] lets the phase in
    /// flight finish. Keys with an open rotation in the journal, or
    /// rotated already into a live key, are refused.
    pub async fn run(
        &self,
        plans: Vec<RotationPlan>,
        mut each: impl FnMut(&Outcome) + Send,
    ) -> Result<Run, JournalError> {
        let memory = self.memory().await?;
        let total = plans.len();
        let mut outcomes: Vec<Option<Outcome>> = (0..total).map(|_| None).collect();
        // Keys rotated before: their users are read once to see whether
        // the replacement still lives.
        let rotated_before: BTreeSet<String> = plans
            .iter()
            .filter(|p| !self.force && memory.finished(&p.old().id).is_some())
            .map(|p| p.old().username.clone())
            .collect();
        let listings = self.list_users(rotated_before).await;
        let mut todo = Vec::with_capacity(total);
        for (at, plan) in plans.into_iter().enumerate() {
            let listed = match listings.get(&plan.old().username) {
                Some(Err(_)) => {
                    // Not known whether its replacement lives: not rotated.
                    let e = list_user(&self.client, &plan.old().username).await;
                    match e {
                        Ok(keys) => Some(keys),
                        Err(e) => {
                            let outcome = Outcome::new(&plan.old().id, End::Undone(Cause::Call(e)));
                            each(&outcome);
                            outcomes[at] = Some(outcome);
                            continue;
                        }
                    }
                }
                Some(Ok(keys)) => Some(keys.clone()),
                None => None,
            };
            let listed = listed.as_deref().unwrap_or_default();
            match self.refusal(&memory, plan.old(), listed) {
                Some(why) => {
                    let outcome = Outcome::new(&plan.old().id, End::Refused(why));
                    each(&outcome);
                    outcomes[at] = Some(outcome);
                }
                None => todo.push((at, plan)),
            }
        }
        let mut not_attempted = 0;
        let phase = self.concurrency * PHASE_ROUNDS;
        let mut rest = todo.into_iter();
        loop {
            let chunk: Vec<(usize, RotationPlan)> = rest.by_ref().take(phase).collect();
            if chunk.is_empty() {
                break;
            }
            if self.stop.requested() {
                not_attempted += chunk.len();
                continue;
            }
            let stop = &self.stop;
            let chunk_len = chunk.len();
            let mut started = 0;
            let mut made = Vec::new();
            {
                let mut creates = std::pin::pin!(
                    stream::iter(chunk)
                        .take_while(|_| std::future::ready(!stop.requested()))
                        .map(|(at, plan)| async move { (at, self.start(plan).await) })
                        .buffer_unordered(self.concurrency)
                );
                while let Some((at, result)) = creates.next().await {
                    started += 1;
                    match result {
                        Ok(made_one) => made.push((at, made_one)),
                        Err(outcome) => {
                            each(&outcome);
                            outcomes[at] = Some(outcome);
                        }
                    }
                }
            }
            not_attempted += chunk_len - started;
            let users: BTreeSet<String> = made
                .iter()
                .map(|(_, (r, _))| r.plan().old().username.clone())
                .collect();
            let listings = &self.list_users(users).await;
            let mut finishes = std::pin::pin!(
                stream::iter(made)
                    .map(|(at, (rotation, entry))| async move {
                        let old = rotation.plan().old();
                        let listed = match listings.get(&old.username) {
                            Some(Ok(keys)) => Ok(keys.iter().find(|k| k.id == old.id).cloned()),
                            // The shared read failed: this one tries again.
                            _ => list_user(&self.client, &old.username)
                                .await
                                .map(|keys| keys.into_iter().find(|k| k.id == old.id)),
                        };
                        (at, self.finish(rotation, entry, listed).await)
                    })
                    .buffer_unordered(self.concurrency)
            );
            while let Some((at, outcome)) = finishes.next().await {
                each(&outcome);
                outcomes[at] = Some(outcome);
            }
        }
        Ok(Run {
            outcomes: outcomes.into_iter().flatten().collect(),
            not_attempted,
        })
    }

    /// Settles every open rotation in the journal: finished where the
    /// secret was delivered, undone where it reached nobody, named for a
    /// human where this cannot be told. `each` sees each as it is settled.
    /// One listing per user concerned; a rotation whose facts cannot be
    /// read stays open ([`Settlement::RunAgain`]).
    pub async fn resume(
        &self,
        mut each: impl FnMut(&Settled) + Send,
    ) -> Result<Vec<Settled>, JournalError> {
        let memory = self.memory().await?;
        let open: Vec<Entry> = memory
            .entries()
            .iter()
            .filter(|e| !e.step.is_settled())
            .cloned()
            .collect();
        let users = open.iter().map(|e| e.username.clone()).collect();
        let listings = &self.list_users(users).await;
        let memory = &memory;
        let stop = &self.stop;
        let mut settles = std::pin::pin!(
            stream::iter(open)
                .take_while(|_| std::future::ready(!stop.requested()))
                .map(|entry| async move {
                    let keys = match listings.get(&entry.username) {
                        Some(Ok(keys)) => Ok(keys.clone()),
                        _ => list_user(&self.client, &entry.username).await,
                    };
                    let how = match keys {
                        Ok(keys) => self.settle(&entry, memory, &keys).await,
                        Err(e) => Settlement::RunAgain(Cause::Call(e)),
                    };
                    Settled { entry, how }
                })
                .buffer_unordered(self.concurrency)
        );
        let mut settled = Vec::new();
        while let Some(one) = settles.next().await {
            each(&one);
            settled.push(one);
        }
        Ok(settled)
    }

    /// Each user's keys, one listing per user, a few at once.
    async fn list_users(
        &self,
        users: BTreeSet<String>,
    ) -> HashMap<String, Result<Vec<ApiKeyInfo>, Error>> {
        stream::iter(users)
            .map(|user| async move {
                let keys = list_user(&self.client, &user).await;
                (user, keys)
            })
            .buffer_unordered(self.concurrency)
            .collect()
            .await
    }

    /// The first half of one rotation: recorded, the expiry brought
    /// forward (with a window), the key created, and its id recorded the
    /// moment the create returned.
    async fn start(&self, plan: RotationPlan) -> Result<(Rotation, Entry), Outcome> {
        let old_id = plan.old().id.clone();
        let mut entry = Entry::start(
            &plan,
            self.sink.target(plan.old()),
            self.sink.locator(plan.old()),
            now_utc(),
        );
        if let Err(e) = self.journal.record(&entry).await {
            return Err(Outcome::new(&old_id, End::Undone(Cause::Journal(e))));
        }
        let rotation = match plan.make(&self.client).await {
            Ok(rotation) => rotation,
            Err(e) => return Err(self.stopped_in_plan(entry, e).await),
        };
        entry.step = Step::Created;
        entry.new_key_id = Some(rotation.created.api_key.id.clone());
        if let Err(e) = self.journal.record(&entry).await {
            return Err(self.undo(rotation, entry, Cause::Journal(e)).await);
        }
        Ok((rotation, entry))
    }

    /// The second half: the old key checked against its listing, the
    /// secret delivered, the old key retired; each step recorded first.
    async fn finish(
        &self,
        rotation: Rotation,
        mut entry: Entry,
        listed: Result<Option<ApiKeyInfo>, Error>,
    ) -> Outcome {
        let old_id = entry.old_key_id.clone();
        let new_id = rotation.created.api_key.id.clone();
        let rotation = match rotation.confirm(&self.client, listed).await {
            Ok(rotation) => rotation,
            Err(e) => {
                let mut outcome = self.stopped_in_plan(entry, e).await;
                outcome.new_id = Some(new_id);
                return outcome;
            }
        };
        entry.step = Step::Delivering;
        if let Err(e) = self.journal.record(&entry).await {
            return self.undo(rotation, entry, Cause::Journal(e)).await;
        }
        let handover = Handover {
            new_key: &rotation.created.api_key,
            old_key: &rotation.plan.old,
        };
        let secret_to = match self
            .sink
            .deliver(&rotation.created.secret_key, handover)
            .await
        {
            Ok(to) => to,
            Err(why) => {
                // Known not delivered: a resume after a failed undo undoes.
                entry.step = Step::Created;
                let _ = self.journal.record(&entry).await;
                return self.undo(rotation, entry, Cause::Delivery(why)).await;
            }
        };
        entry.step = Step::Delivered;
        let end = match self.journal.record(&entry).await {
            // The next step is not taken: the old key keeps working, and
            // the journal's "delivering" makes resume ask the sink.
            Err(e) => End::Left(Cause::Journal(e)),
            Ok(()) => {
                let old_key = rotation.retire_old(&self.client).await;
                if !matches!(old_key, OldKey::StillActive(_)) {
                    entry.step = Step::Finished;
                    entry.old_stops_at = Some(stops_at(&old_key));
                    if let Err(e) = self.journal.record(&entry).await {
                        // Resume retires it again, which changes nothing.
                        tracing::warn!(error = %e, key = %entry.old_key_id, "a finished rotation was not recorded");
                    }
                }
                End::Rotated(old_key)
            }
        };
        Outcome {
            old_id,
            new_id: Some(new_id),
            secret_to: Some(secret_to),
            end,
        }
    }

    /// A plan's step failed (the library undid what it could): the
    /// journal is brought to what is left.
    async fn stopped_in_plan(&self, mut entry: Entry, e: Error) -> Outcome {
        let (orphan, shortened) = match &e {
            Error::Rotation(f) => (
                f.orphan.clone(),
                matches!(f.old_expiry, OldExpiry::Shortened { .. }),
            ),
            _ => (None, false),
        };
        let left = orphan.is_some() || shortened;
        if let Some(orphan) = &orphan {
            // Resume deletes it: its secret reached nobody.
            entry.step = Step::Created;
            entry.new_key_id = Some(orphan.clone());
        } else if !shortened {
            entry.step = Step::Undone;
        }
        // With the expiry left shortened, `creating` stays: resume puts it
        // back.
        let recorded = self.journal.record(&entry).await;
        let mut outcome = Outcome::new(&entry.old_key_id, End::Undone(Cause::Call(e)));
        if left || recorded.is_err() && entry.step != Step::Undone {
            outcome.end = match outcome.end {
                End::Undone(cause) => End::Left(cause),
                other => other,
            };
        }
        outcome.new_id = orphan;
        outcome
    }

    /// Deletes the new key and puts the old key's expiry back; records
    /// the rotation undone once both worked.
    async fn undo(&self, rotation: Rotation, mut entry: Entry, cause: Cause) -> Outcome {
        let mut outcome = Outcome::new(&entry.old_key_id, End::Undone(cause));
        outcome.new_id = Some(rotation.created.api_key.id.clone());
        if let Err(e) = rotation.undo(&self.client).await {
            tracing::warn!(error = %e, key = %entry.old_key_id, "undoing a rotation failed");
            if let End::Undone(cause) = outcome.end {
                outcome.end = End::Left(cause);
            }
            return outcome;
        }
        entry.step = Step::Undone;
        // Not recorded: resume finds the new key gone and settles it.
        let _ = self.journal.record(&entry).await;
        outcome
    }

    /// Settles one open rotation from its user's listed keys.
    async fn settle(&self, entry: &Entry, memory: &Memory, keys: &[ApiKeyInfo]) -> Settlement {
        let find = |id: &str| keys.iter().find(|k| k.id == id);
        let old = find(&entry.old_key_id);
        let new = entry.new_key_id.as_deref().and_then(find);
        match entry.step {
            Step::Creating => {
                if let Err(e) = self.put_back(entry, old).await {
                    return Settlement::RunAgain(Cause::Call(e));
                }
                let since = entry.started_at - CLOCK_SKEW;
                let stray: Vec<String> = keys
                    .iter()
                    .filter(|k| {
                        k.name == entry.name
                            && k.id != entry.old_key_id
                            && k.created_at >= since
                            && !memory.made(&k.id)
                    })
                    .map(|k| k.id.clone())
                    .collect();
                if let Err(e) = self.mark(entry, Step::Undone, None).await {
                    return Settlement::RunAgain(Cause::Journal(e));
                }
                if stray.is_empty() {
                    Settlement::Undone
                } else {
                    Settlement::NeedsHuman {
                        check: HumanCheck::StrayKeys,
                        keys: stray,
                    }
                }
            }
            Step::Created => self.undo_entry(entry, old).await,
            Step::Delivering => {
                let Some(new) = new else {
                    // The new key is gone: whatever the sink got no longer
                    // works, and the old key must.
                    return self.undo_entry(entry, old).await;
                };
                if old.is_none_or(|o| !is_active(o, now_utc())) {
                    // Retired by hand, as a human told to check would.
                    return self.retire_entry(entry, old).await;
                }
                match self.sink.holds(entry, new).await {
                    Some(true) => self.retire_entry(entry, old).await,
                    Some(false) => self.undo_entry(entry, old).await,
                    None => Settlement::NeedsHuman {
                        check: HumanCheck::DeliveryUnknown,
                        keys: vec![new.id.clone()],
                    },
                }
            }
            Step::Delivered => self.retire_entry(entry, old).await,
            Step::Finished | Step::Undone => Settlement::Undone,
        }
    }

    /// Retires the old key of a delivered rotation, as it was planned.
    async fn retire_entry(&self, entry: &Entry, old: Option<&ApiKeyInfo>) -> Settlement {
        let old_key = match old {
            // Deleted meanwhile: nothing is left to retire.
            None => OldKey::RetiredElsewhere,
            Some(old) => match retire(&self.client, old, retire_of(entry.retire)).await {
                Some(OldKey::StillActive(e)) => return Settlement::RunAgain(Cause::Call(e)),
                Some(done) => done,
                None => OldKey::ExpiresAt(
                    old.expires_at
                        .or(entry.old_stops_at)
                        .unwrap_or(entry.updated_at),
                ),
            },
        };
        match self
            .mark(entry, Step::Finished, Some(stops_at(&old_key)))
            .await
        {
            Ok(()) => Settlement::Finished(old_key),
            Err(e) => Settlement::RunAgain(Cause::Journal(e)),
        }
    }

    /// Deletes the new key (gone counts) and puts the old key's expiry back.
    async fn undo_entry(&self, entry: &Entry, old: Option<&ApiKeyInfo>) -> Settlement {
        if let Some(new) = &entry.new_key_id
            && let Err(e) = gone_is_done(self.client.delete_api_key(new).await)
        {
            return Settlement::RunAgain(Cause::Call(e));
        }
        if let Err(e) = self.put_back(entry, old).await {
            return Settlement::RunAgain(Cause::Call(e));
        }
        match self.mark(entry, Step::Undone, None).await {
            Ok(()) => Settlement::Undone,
            Err(e) => Settlement::RunAgain(Cause::Journal(e)),
        }
    }

    /// Puts the old key's expiry back where an overlap window may have
    /// brought it forward; nothing for a key gone, deactivated, or whose
    /// expiry is as it was.
    async fn put_back(&self, entry: &Entry, old: Option<&ApiKeyInfo>) -> Result<(), Error> {
        let Some(old) = old else { return Ok(()) };
        if entry.retire != Retirement::Expire || old.expires_at == entry.old_expires_at {
            return Ok(());
        }
        if !old.is_active && crate::KeyState::of(old, now_utc()) == crate::KeyState::Deactivated {
            return Ok(());
        }
        restore_expiry(&self.client, &old.id, entry.old_expires_at).await
    }

    /// Records `entry` at `step`.
    async fn mark(
        &self,
        entry: &Entry,
        step: Step,
        old_stops_at: Option<DateTime<Utc>>,
    ) -> Result<(), JournalError> {
        let mut entry = entry.clone();
        entry.step = step;
        entry.old_stops_at = old_stops_at.or(entry.old_stops_at);
        entry.updated_at = now_utc();
        self.journal.record(&entry).await
    }
}

/// The [`Retire`] a journal's retirement was planned with (the window's
/// length no longer matters: its end was set already).
fn retire_of(retirement: Retirement) -> Retire {
    match retirement {
        Retirement::Delete => Retire::Delete,
        Retirement::Expire => Retire::After(TimeDelta::zero()),
        _ => Retire::Deactivate,
    }
}

/// When an old key stops (or stopped) working.
fn stops_at(old_key: &OldKey) -> DateTime<Utc> {
    match old_key {
        OldKey::ExpiresAt(at) | OldKey::Expired { at } => *at,
        _ => now_utc(),
    }
}
