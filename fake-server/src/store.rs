//! The store: the API keys of the world's users and collections, and the
//! semantics of the six operations on them, independent of HTTP and of the
//! clock (every operation is given its `now`).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, TimeDelta, Utc};
use subtle::ConstantTimeEq;

use crate::{
    error::{ApiError, quote},
    interval,
    model::{
        CreateRequest, Created, KeyInfo, MAX_INACTIVITY_DAYS, UpdateExpiryRequest,
        UpdateInactivityIntervalRequest,
    },
    secret::NewKey,
    seed::SeedKey,
    world::{ApiVersion, Collection, Settings, User},
};

/// What the server keeps of a key: never the secret, only its SHA-256.
#[derive(Debug, Clone)]
struct KeyRecord {
    id: String,
    user_id: String,
    name: String,
    secret_sha256: [u8; 32],
    hint: String,
    created_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    last_used_at: Option<DateTime<Utc>>,
    inactivity_days: Option<i64>,
    total_calls: i64,
    deactivated: bool,
    collection_id: Option<String>,
}

/// What a new key is made with, besides its secret.
struct KeyTerms<'a> {
    user_id: &'a str,
    name: &'a str,
    expires_at: Option<DateTime<Utc>>,
    inactivity_days: Option<i64>,
    collection_id: Option<String>,
}

impl<'a> KeyTerms<'a> {
    /// A global key of `user_id` named `name`, with no expiry or interval.
    fn plain(user_id: &'a str, name: &'a str) -> Self {
        Self {
            user_id,
            name,
            expires_at: None,
            inactivity_days: None,
            collection_id: None,
        }
    }
}

impl KeyRecord {
    /// A new, unused key on these terms, keeping only the secret's hash and
    /// its last four characters as the hint.
    fn new(key: &NewKey, terms: KeyTerms<'_>, now: DateTime<Utc>) -> Self {
        KeyRecord {
            id: key.id.clone(),
            user_id: terms.user_id.to_owned(),
            name: terms.name.to_owned(),
            secret_sha256: key.sha256,
            hint: crate::secret::hint(&key.secret).to_owned(),
            created_at: now,
            expires_at: terms.expires_at,
            last_used_at: None,
            inactivity_days: terms.inactivity_days,
            total_calls: 0,
            deactivated: false,
            collection_id: terms.collection_id,
        }
    }

    fn is_active(&self, now: DateTime<Utc>) -> bool {
        let expired = self.expires_at.is_some_and(|at| at <= now);
        let idle = self.inactivity_days.is_some_and(|days| {
            self.last_used_at.unwrap_or(self.created_at) + TimeDelta::days(days) <= now
        });
        !self.deactivated && !expired && !idle
    }
}

/// Key records in list order (creation time, then id) with indexes by id and
/// by secret hash.
#[derive(Debug, Default)]
pub struct Store {
    users: HashMap<String, User>,
    collections: HashMap<String, Collection>,
    settings: Settings,
    keys: BTreeMap<(DateTime<Utc>, String), KeyRecord>,
    /// Every key's position in list order, so an unfiltered page is found by
    /// index whatever its offset.
    order: Vec<(DateTime<Utc>, String)>,
    by_id: HashMap<String, (DateTime<Utc>, String)>,
    by_hash: HashMap<[u8; 32], String>,
    protected: Option<String>,
}

impl Store {
    /// A store with these users, collections and settings, and no keys.
    pub fn new(users: Vec<User>, collections: Vec<Collection>, settings: Settings) -> Self {
        Self {
            users: users.into_iter().map(|u| (u.id.clone(), u)).collect(),
            collections: collections.into_iter().map(|c| (c.id.clone(), c)).collect(),
            settings,
            ..Self::default()
        }
    }

    /// Adds a key with a known secret for `user_id`, as the bootstrap admin key.
    pub fn insert_key_with_secret(
        &mut self,
        user_id: &str,
        name: &str,
        secret: &str,
        now: DateTime<Utc>,
    ) -> Result<KeyInfo, ApiError> {
        if !self.users.contains_key(user_id) {
            return Err(ApiError::not_found(format!(
                "user {} not found",
                quote(user_id)
            )));
        }
        let key = NewKey::with_secret(secret.to_owned());
        if self.by_hash.contains_key(&key.sha256) {
            return Err(ApiError::bad_request("that secret is already a key"));
        }
        let record = KeyRecord::new(&key, KeyTerms::plain(user_id, name), now);
        Ok(self.insert(record, now))
    }

    /// Adds a key of a seed population as it is described: its id, times,
    /// state and counts. Its user and collection must exist already
    /// ([`add_seed_owners`](Self::add_seed_owners) makes them); the secret
    /// is the record's, or random.
    pub fn insert_seed(&mut self, seed: &SeedKey, now: DateTime<Utc>) -> Result<(), String> {
        seed.check_past(now)?;
        if self.by_id.contains_key(&seed.id) {
            return Err("a key with this id exists already".to_owned());
        }
        let user = self
            .users
            .get(&seed.user_id)
            .ok_or_else(|| format!("user \"{}\" is unknown", quote(&seed.user_id)))?;
        if user.username != seed.username {
            return Err(format!(
                "user \"{}\" is named \"{}\" elsewhere, not \"{}\"",
                quote(&seed.user_id),
                quote(&user.username),
                quote(&seed.username)
            ));
        }
        if let (Some(cid), Some(cname)) = (&seed.collection_id, &seed.collection_name) {
            let known = self.collections.get(cid);
            if known.is_none_or(|c| c.owner_id != seed.user_id || &c.name != cname) {
                return Err(format!(
                    "collection \"{}\" is named or owned differently elsewhere",
                    quote(cid)
                ));
            }
        }
        let secret = seed
            .secret_key
            .clone()
            .unwrap_or_else(crate::secret::new_secret);
        let mut key = NewKey::with_secret(secret);
        key.id = seed.id.clone();
        if self.by_hash.contains_key(&key.sha256) {
            return Err("secret_key is already the secret of another key".to_owned());
        }
        let terms = KeyTerms {
            user_id: &seed.user_id,
            name: &seed.name,
            expires_at: seed.expires_at,
            inactivity_days: seed.inactivity_interval,
            collection_id: seed.collection_id.clone(),
        };
        let mut record = KeyRecord::new(&key, terms, seed.created_at);
        if seed.secret_key.is_none()
            && let Some(hint) = &seed.hint
        {
            record.hint = hint.clone();
        }
        record.last_used_at = seed.last_used_at;
        record.total_calls = seed.total_calls.unwrap_or(0);
        // `is_active: false` is the server's view: deactivated only when
        // neither the expiry nor the inactivity interval explains it.
        record.deactivated = !seed.is_active && record.is_active(now);
        self.insert(record, now);
        Ok(())
    }

    /// Adds the users and collections a seed population names that the
    /// store does not know yet (users are not administrators).
    pub fn add_seed_owners(&mut self, seed: &SeedKey) {
        self.users
            .entry(seed.user_id.clone())
            .or_insert_with(|| User {
                id: seed.user_id.clone(),
                username: seed.username.clone(),
                is_admin: false,
            });
        if let (Some(id), Some(name)) = (&seed.collection_id, &seed.collection_name) {
            self.collections
                .entry(id.clone())
                .or_insert_with(|| Collection {
                    id: id.clone(),
                    name: name.clone(),
                    owner_id: seed.user_id.clone(),
                });
        }
    }

    /// Checks a presented bearer secret by its [`sha256`](crate::sha256) (computed before
    /// taking the lock): it must be a known, active key of an administrator.
    /// Counts the call on the key.
    pub fn authenticate(
        &mut self,
        presented: &[u8; 32],
        now: DateTime<Utc>,
    ) -> Result<(), ApiError> {
        // The map lookup finds a candidate by hash; the stored hash is then
        // compared in constant time, so no timing depends on the secret.
        let record = self
            .by_hash
            .get(presented)
            .and_then(|id| self.by_id.get(id))
            .and_then(|pos| self.keys.get_mut(pos))
            .filter(|r| bool::from(r.secret_sha256.ct_eq(presented)))
            .ok_or_else(|| ApiError::unauthorized("invalid API key"))?;
        if !record.is_active(now) {
            return Err(ApiError::unauthorized("API key is expired or deactivated"));
        }
        let is_admin = self.users.get(&record.user_id).is_some_and(|u| u.is_admin);
        if !is_admin {
            return Err(ApiError::unauthorized(
                "only administrators may manage API keys",
            ));
        }
        record.last_used_at = Some(now);
        record.total_calls += 1;
        Ok(())
    }

    /// `create_api_key_for_user`, with the new key's secret made beforehand
    /// ([`NewKey::generate`], outside the lock).
    pub fn create(
        &mut self,
        req: CreateRequest,
        key: NewKey,
        now: DateTime<Utc>,
    ) -> Result<Created, ApiError> {
        let user_id = req.user_id.trim();
        if user_id.is_empty() {
            return Err(ApiError::bad_request("user_id must not be empty"));
        }
        let inactivity_interval = match self.settings.api_version {
            // The 1.6 create request has no such field: ignored, as unknown.
            ApiVersion::V1_6 => None,
            ApiVersion::V1_7 => check_inactivity(req.inactivity_interval)?,
        };
        let expires_at = self.expiry(req.expires_in.as_deref(), now)?;
        if !self.users.contains_key(user_id) {
            return Err(ApiError::not_found(format!(
                "user {} not found",
                quote(user_id)
            )));
        }
        if let Some(cid) = &req.collection_id {
            let owned = self
                .collections
                .get(cid)
                .is_some_and(|c| c.owner_id == user_id);
            if !owned {
                return Err(ApiError::not_found(format!(
                    "collection {} not found among the collections of user {}",
                    quote(cid),
                    quote(user_id)
                )));
            }
        }
        let terms = KeyTerms {
            user_id,
            name: req.name.as_deref().unwrap_or_default(),
            expires_at,
            inactivity_days: inactivity_interval,
            collection_id: req.collection_id,
        };
        let record = KeyRecord::new(&key, terms, now);
        let api_key = self.insert(record, now);
        Ok(Created {
            secret_key: key.secret,
            api_key,
        })
    }

    /// `list_all_api_keys`: one page in creation order; `filter` matches
    /// usernames case-insensitively as a substring. Without a filter the page
    /// is found by position, so its cost does not grow with the offset; with
    /// one, the keys before the offset must be matched to be skipped.
    pub fn list(
        &self,
        offset: usize,
        limit: usize,
        filter: Option<&str>,
        now: DateTime<Utc>,
    ) -> Vec<KeyInfo> {
        let Some(filter) = filter.map(str::to_lowercase) else {
            return self
                .order
                .get(offset..)
                .unwrap_or_default()
                .iter()
                .take(limit)
                .filter_map(|pos| self.keys.get(pos))
                .map(|r| self.info(r, now))
                .collect();
        };
        self.keys
            .values()
            .filter(|r| {
                self.username(&r.user_id)
                    .to_lowercase()
                    .contains(filter.as_str())
            })
            .skip(offset)
            .take(limit)
            .map(|r| self.info(r, now))
            .collect()
    }

    /// `deactivate_api_key`.
    pub fn deactivate(&mut self, id: &str, now: DateTime<Utc>) -> Result<(), ApiError> {
        self.check_unprotected(id)?;
        let record = self.get_mut(id)?;
        if !record.is_active(now) {
            return Err(ApiError::conflict(format!(
                "API key {} is already inactive",
                quote(id)
            )));
        }
        record.deactivated = true;
        Ok(())
    }

    /// `delete_api_key`.
    pub fn delete(&mut self, id: &str) -> Result<(), ApiError> {
        self.check_unprotected(id)?;
        let pos = self.by_id.remove(id).ok_or_else(|| not_found(id))?;
        if let Ok(at) = self.order.binary_search(&pos) {
            self.order.remove(at);
        }
        if let Some(record) = self.keys.remove(&pos) {
            self.by_hash.remove(&record.secret_sha256);
        }
        Ok(())
    }

    /// `update_api_key_expiry`: sets the expiry `expires_in` from now, or
    /// removes it when absent.
    pub fn update_expiry(
        &mut self,
        id: &str,
        req: UpdateExpiryRequest,
        now: DateTime<Utc>,
    ) -> Result<(), ApiError> {
        self.check_unprotected(id)?;
        let deactivated = self.get_mut(id)?.deactivated;
        if deactivated {
            return Err(ApiError::conflict(format!(
                "API key {} is deactivated; its expiry cannot change",
                quote(id)
            )));
        }
        let expires_at = self.expiry(req.expires_in.as_deref(), now)?;
        self.get_mut(id)?.expires_at = expires_at;
        Ok(())
    }

    /// `update_api_key_inactivity_interval`: sets the interval, or removes it
    /// when absent. A 1.6 server has no such route; the router answers that.
    pub fn update_inactivity_interval(
        &mut self,
        id: &str,
        req: UpdateInactivityIntervalRequest,
    ) -> Result<(), ApiError> {
        self.check_unprotected(id)?;
        let days = check_inactivity(req.inactivity_interval)?;
        let record = self.get_mut(id)?;
        if record.deactivated {
            return Err(ApiError::conflict(format!(
                "API key {} is deactivated; its inactivity interval cannot change",
                quote(id)
            )));
        }
        record.inactivity_days = days;
        Ok(())
    }

    /// The release of the API this store plays.
    pub fn api_version(&self) -> ApiVersion {
        self.settings.api_version
    }

    /// Refuses, with 409, to deactivate, delete or re-expire the key `id`: for
    /// contract testers that would otherwise lock themselves out.
    pub fn protect(&mut self, id: &str) {
        self.protected = Some(id.to_owned());
    }

    fn check_unprotected(&self, id: &str) -> Result<(), ApiError> {
        if self.protected.as_deref() == Some(id) {
            return Err(ApiError::conflict(format!(
                "API key {} is the protected bootstrap admin key; restart the server without --protect-admin-key to change it",
                quote(id)
            )));
        }
        Ok(())
    }

    /// How many keys the store holds.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the store holds no keys.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    fn expiry(
        &self,
        expires_in: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, ApiError> {
        let cap = self
            .settings
            .max_expiry_days
            .map(|days| TimeDelta::days(i64::from(days)));
        let Some(text) = expires_in else {
            return Ok(None);
        };
        let delta = interval::parse(text).map_err(ApiError::bad_request)?;
        if let Some(cap) = cap
            && delta > cap
        {
            return Err(ApiError::bad_request(format!(
                "expires_in \"{}\" is beyond the maximum key lifetime of {} days",
                quote(text),
                cap.num_days()
            )));
        }
        // RFC 3339 has four-digit years: a later expiry could not be sent.
        now.checked_add_signed(delta)
            .filter(|at| at.year() <= 9999)
            .map(Some)
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "expires_in \"{}\" ends after the year 9999: ask for a shorter interval, or none",
                    quote(text)
                ))
            })
    }

    fn insert(&mut self, record: KeyRecord, now: DateTime<Utc>) -> KeyInfo {
        let info = self.info(&record, now);
        let pos = (record.created_at, record.id.clone());
        // Keys are created in time order, so this is nearly always a push.
        let at = self.order.partition_point(|p| *p < pos);
        self.order.insert(at, pos.clone());
        self.by_id.insert(record.id.clone(), pos.clone());
        self.by_hash.insert(record.secret_sha256, record.id.clone());
        self.keys.insert(pos, record);
        info
    }

    fn get_mut(&mut self, id: &str) -> Result<&mut KeyRecord, ApiError> {
        self.by_id
            .get(id)
            .and_then(|pos| self.keys.get_mut(pos))
            .ok_or_else(|| not_found(id))
    }

    fn username<'a>(&'a self, user_id: &'a str) -> &'a str {
        self.users
            .get(user_id)
            .map_or(user_id, |u| u.username.as_str())
    }

    fn info(&self, r: &KeyRecord, now: DateTime<Utc>) -> KeyInfo {
        // The fields added in 1.7.0, left out when playing an older server.
        let v1_7 = self.settings.api_version == ApiVersion::V1_7;
        let collection = r
            .collection_id
            .as_ref()
            .and_then(|id| self.collections.get(id));
        KeyInfo {
            id: r.id.clone(),
            username: self.username(&r.user_id).to_owned(),
            name: r.name.clone(),
            hint: r.hint.clone(),
            created_at: r.created_at,
            expires_at: r.expires_at,
            last_used_at: r.last_used_at.filter(|_| v1_7),
            inactivity_interval: r.inactivity_days.filter(|_| v1_7),
            total_calls: Some(r.total_calls).filter(|_| v1_7),
            is_active: r.is_active(now),
            collection_name: collection.map(|c| c.name.clone()),
            collection_id: r.collection_id.clone(),
            is_global_key: r.collection_id.is_none(),
        }
    }
}

/// An inactivity interval within 1 to [`MAX_INACTIVITY_DAYS`] days, or none.
fn check_inactivity(days: Option<i64>) -> Result<Option<i64>, ApiError> {
    match days {
        Some(days) if !(1..=MAX_INACTIVITY_DAYS).contains(&days) => {
            Err(ApiError::bad_request(format!(
                "inactivity_interval must be between 1 and {MAX_INACTIVITY_DAYS} days, not {days}"
            )))
        }
        days => Ok(days),
    }
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("API key {} not found", quote(id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The position index an unfiltered page is read from stays in list
    /// order through creates and deletes, at every offset.
    #[test]
    fn unfiltered_pages_follow_list_order_through_deletes() {
        let admin = User {
            id: "admin".into(),
            username: "admin".into(),
            is_admin: true,
        };
        let mut store = Store::new(vec![admin], Vec::new(), Settings::default());
        let start = Utc::now();
        let mut ids = Vec::new();
        for i in 0..50 {
            let now = start + TimeDelta::seconds(i);
            let key = NewKey::generate();
            let created = store
                .create(CreateRequest::for_user("admin"), key, now)
                .expect("create");
            ids.push(created.api_key.id);
        }
        for id in ids.iter().step_by(7) {
            store.delete(id).expect("delete");
        }
        let now = start + TimeDelta::seconds(100);
        let every: Vec<String> = store
            .list(0, 1000, Some("admin"), now)
            .into_iter()
            .map(|k| k.id)
            .collect();
        assert_eq!(every.len(), 50 - 8);
        for offset in 0..every.len() + 2 {
            let page: Vec<String> = store
                .list(offset, 5, None, now)
                .into_iter()
                .map(|k| k.id)
                .collect();
            let expected: Vec<String> = every.iter().skip(offset).take(5).cloned().collect();
            assert_eq!(page, expected, "offset {offset}");
        }
    }
}
