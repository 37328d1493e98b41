//! `h2ogpte-keys mcp`: key administration for AI assistants over the Model
//! Context Protocol (stdio). Read tools always; with `--allow-writes` one
//! write tool, `apply_plan`, which takes only a plan this server made,
//! named by its digest and confirmed by the human. No tool returns, logs
//! or notifies a secret, and none takes an arbitrary key id to change.

use std::{
    collections::{BTreeMap, VecDeque},
    sync::{Arc, Mutex},
};

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use h2ogpte_api_keys::{
    Client, KeyState,
    plan::{Action, PlanRow},
    policy::Policy,
    rotation::Stop,
    types::ApiKeyInfo,
};
use rmcp::{
    ErrorData, Json, Peer, RoleServer, ServerHandler, ServiceExt,
    handler::server::{router::tool::ToolRouter, wrapper::Parameters},
    model::{Implementation, ServerCapabilities, ServerConfig},
    service::RequestContext,
    tool, tool_handler, tool_router,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{
    args::{Global, McpArgs},
    commands::apply::{carry_out, recheck},
    failure::Failure,
    lookup,
    plan_file::{PlanFile, detail},
    sink::Sink,
    state_dir::peek_journal,
    user_map::UserMap,
};

/// Most keys one `list_keys` call returns; its cursor gives the next part.
const MAX_PAGE: usize = 200;
/// Most rows of an audit or a plan a response holds; the rest are counted.
const MAX_ROWS: usize = 500;
/// Most plans kept to be applied; the oldest goes first.
const MAX_PLANS: usize = 16;
/// Longest id, username, filter or digest a tool takes.
const MAX_TEXT: usize = 256;

/// The server's state: a client, the policy, where secrets go, the plans
/// it made.
#[derive(Clone)]
pub struct KeysServer {
    client: Client,
    g: Arc<Global>,
    policy: Arc<Policy>,
    sink: Arc<Sink>,
    users: Option<Arc<UserMap>>,
    concurrency: usize,
    allow_writes: bool,
    plans: Arc<Mutex<VecDeque<(String, PlanFile)>>>,
    tool_router: ToolRouter<Self>,
}

/// Serves on stdin and stdout until the client goes.
pub async fn serve(client: Client, args: &McpArgs, g: &Global) -> Result<(), Failure> {
    let policy = crate::policy_file::load(args.policy.as_deref(), &args.rules)?;
    let sink = Sink::from_args(&args.delivery.sink, args.delivery.secret_dir.as_deref())?;
    let users = args
        .delivery
        .user_map
        .as_deref()
        .map(UserMap::read)
        .transpose()?;
    let server = KeysServer {
        client,
        g: Arc::new(g.clone()),
        policy: Arc::new(policy),
        sink: Arc::new(sink),
        users: users.map(Arc::new),
        concurrency: args.delivery.concurrency.into(),
        allow_writes: args.allow_writes,
        plans: Arc::default(),
        tool_router: KeysServer::tool_router(),
    };
    let running = server
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| Failure::api(format!("the MCP session did not start: {e}")))?;
    running
        .waiting()
        .await
        .map_err(|e| Failure::api(format!("the MCP session ended with an error: {e}")))?;
    Ok(())
}

/// Filters of the listing tools.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    /// Only keys of users whose username contains this text.
    #[serde(default)]
    pub filter: Option<String>,
    /// Only the keys of the user named exactly this.
    #[serde(default)]
    pub user: Option<String>,
}

/// A key's state, as `list_keys` filters on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Active,
    Expired,
    Idle,
    Deactivated,
}

/// `list_keys`'s arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListArgs {
    #[serde(flatten)]
    pub scope: Scope,
    /// Only keys in this state.
    #[serde(default)]
    pub state: Option<State>,
    /// Where to go on: `next_cursor` of the previous call.
    #[serde(default)]
    pub cursor: Option<u64>,
    /// Keys in this part, 1 to 200 (default 50).
    #[serde(default)]
    pub limit: Option<u32>,
}

/// A part of the listing.
#[derive(Debug, Serialize, JsonSchema)]
pub struct KeyPage {
    pub keys: Vec<ApiKeyInfo>,
    /// Give it as `cursor` for the next part; absent at the end.
    pub next_cursor: Option<u64>,
}

/// `show_key`'s arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShowArgs {
    /// The key's id.
    pub id: String,
}

/// Who this server acts as.
#[derive(Debug, Serialize, JsonSchema)]
pub struct WhoAmI {
    /// The API it calls.
    pub server: String,
    /// The context of the configuration file, if one was used.
    pub context: Option<String>,
    /// The keys whose hint is the one this server authenticates with
    /// (normally one): never acted on.
    pub keys: Vec<ApiKeyInfo>,
}

/// One finding of the audit.
#[derive(Debug, Serialize, JsonSchema)]
pub struct FindingRow {
    pub id: String,
    pub username: String,
    pub name: String,
    /// The stable code, such as `no-expiry`.
    pub finding: String,
    /// What clears it: rotate, expire, inactivity, deactivate, delete, review.
    pub remedy: String,
    pub detail: String,
}

/// The audit's answer.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AuditReport {
    pub server: String,
    pub keys_checked: u64,
    pub findings: Vec<FindingRow>,
    /// Findings beyond the 500 shown.
    pub not_shown: u64,
}

/// One row of a plan.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PlanRowOut {
    pub id: String,
    pub username: String,
    pub name: String,
    pub findings: Vec<String>,
    /// delete, deactivate, rotate, expire, inactivity; or keep, waived,
    /// retiring, needs-human, own-key (no change).
    pub action: String,
    pub detail: String,
}

/// A plan this server made and keeps, to be applied by its digest.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PlanReport {
    /// Names this plan to apply_plan.
    pub digest: String,
    pub server: String,
    pub made_at: DateTime<Utc>,
    /// The changes, by action.
    pub changes: BTreeMap<String, u64>,
    pub rows: Vec<PlanRowOut>,
    /// Rows beyond the 500 shown (changes counts them all).
    pub not_shown: u64,
    /// Whether apply_plan is offered (the server was started with --allow-writes).
    pub writes_allowed: bool,
}

/// `apply_plan`'s arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyArgs {
    /// The digest the plan tool gave.
    pub digest: String,
    /// The same digest again, once the human agreed, where the client
    /// cannot ask them itself (no elicitation).
    #[serde(default)]
    pub confirm: Option<String>,
}

/// One change of an applied plan.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AppliedRow {
    pub id: String,
    pub action: String,
    /// done, failed or skipped.
    pub result: String,
    /// For a rotation, the new key's id and where its secret went (never
    /// the secret); else why it failed or was skipped.
    pub detail: String,
}

/// What apply_plan did.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ApplyReport {
    pub server: String,
    pub rows: Vec<AppliedRow>,
}

/// The human's answer to a plan with writes.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct Confirmation {
    /// Apply the plan.
    pub apply: bool,
}
rmcp::elicit_safe!(Confirmation);

/// A failure in the CLI's words, as an MCP error.
fn error(f: Failure) -> ErrorData {
    match f.code {
        crate::failure::EXIT_USAGE => ErrorData::invalid_params(f.message, None),
        _ => ErrorData::internal_error(f.message, None),
    }
}

/// A text argument, bounded.
fn bounded<'a>(name: &str, text: &'a str) -> Result<&'a str, ErrorData> {
    if text.chars().count() > MAX_TEXT || text.is_empty() {
        return Err(ErrorData::invalid_params(
            format!("{name}: between 1 and {MAX_TEXT} characters"),
            None,
        ));
    }
    Ok(text)
}

#[tool_router(router = tool_router)]
impl KeysServer {
    /// The API this server calls, its context, and its own key.
    #[tool(
        name = "whoami",
        description = "The h2oGPTe server this MCP server administers, the context, and the key it authenticates with (by hint). Reads only."
    )]
    async fn whoami(&self) -> Result<Json<WhoAmI>, ErrorData> {
        let keys = lookup::own(&self.client, &self.g).await.map_err(error)?;
        Ok(Json(WhoAmI {
            server: self.server(),
            context: self.g.context.clone(),
            keys,
        }))
    }

    /// A part of the keys.
    #[tool(
        name = "list_keys",
        description = "List API keys (no secrets: the API keeps only a 4-character hint), optionally of users whose name contains `filter`, of exactly one `user`, or in one `state`; at most `limit` (≤ 200) per call, `next_cursor` for the rest. Reads only."
    )]
    async fn list_keys(
        &self,
        Parameters(args): Parameters<ListArgs>,
    ) -> Result<Json<KeyPage>, ErrorData> {
        let query = self.query(&args.scope)?;
        let limit = match args.limit {
            None => 50,
            Some(n) if (1..=MAX_PAGE).contains(&(n as usize)) => n as usize,
            Some(_) => {
                return Err(ErrorData::invalid_params(
                    format!("limit: between 1 and {MAX_PAGE}"),
                    None,
                ));
            }
        };
        let skip = usize::try_from(args.cursor.unwrap_or(0)).unwrap_or(usize::MAX);
        let now = Utc::now();
        let wanted = |k: &ApiKeyInfo| {
            args.state.is_none_or(|s| {
                let state = KeyState::of(k, now);
                matches!(
                    (s, state),
                    (State::Active, KeyState::Active)
                        | (State::Expired, KeyState::Expired { .. })
                        | (State::Idle, KeyState::Idle { .. })
                        | (State::Deactivated, KeyState::Deactivated)
                )
            })
        };
        let mut keys = Vec::new();
        let mut seen = 0usize;
        let mut stream = std::pin::pin!(self.client.stream_all_api_keys(&query));
        while let Some(key) = stream.try_next().await.map_err(|e| self.api(&e))? {
            if !wanted(&key) {
                continue;
            }
            seen += 1;
            if seen <= skip {
                continue;
            }
            if keys.len() == limit {
                return Ok(Json(KeyPage {
                    keys,
                    next_cursor: Some((seen - 1) as u64),
                }));
            }
            keys.push(key);
        }
        Ok(Json(KeyPage {
            keys,
            next_cursor: None,
        }))
    }

    /// One key.
    #[tool(
        name = "show_key",
        description = "One API key by id (no secret). Reads only."
    )]
    async fn show_key(
        &self,
        Parameters(args): Parameters<ShowArgs>,
    ) -> Result<Json<ApiKeyInfo>, ErrorData> {
        let id = bounded("id", &args.id)?;
        lookup::find(&self.client, id, &self.g)
            .await
            .map(Json)
            .map_err(error)
    }

    /// The policy's findings.
    #[tool(
        name = "audit",
        description = "Check the keys against this server's policy: one row per key and rule it breaks, with the remedy that clears it (at most 500 rows; the rest counted). Rotations in progress and retiring keys are known from the rotation journal. Reads only."
    )]
    async fn audit(
        &self,
        Parameters(scope): Parameters<Scope>,
    ) -> Result<Json<AuditReport>, ErrorData> {
        let query = self.query(&scope)?;
        let now = Utc::now();
        let memory = peek_journal(&self.client, &self.g).unwrap_or_default();
        let mut audited = std::pin::pin!(self.client.audit(&query, &self.policy, now));
        let (mut findings, mut keys_checked, mut not_shown) = (Vec::new(), 0u64, 0u64);
        while let Some(judged) = audited.try_next().await.map_err(|e| self.api(&e))? {
            keys_checked += 1;
            for f in memory.judge(&judged.key, judged.findings, now) {
                if findings.len() == MAX_ROWS {
                    not_shown += 1;
                    continue;
                }
                findings.push(FindingRow {
                    id: judged.key.id.clone(),
                    username: judged.key.username.clone(),
                    name: judged.key.name.clone(),
                    finding: f.code.as_str().to_owned(),
                    remedy: f.remedy.as_str().to_owned(),
                    detail: f.detail,
                });
            }
        }
        Ok(Json(AuditReport {
            server: self.server(),
            keys_checked,
            findings,
            not_shown,
        }))
    }

    /// A plan, kept to be applied by its digest.
    #[tool(
        name = "plan",
        description = "Make a plan: one action per key from this server's policy (delete, deactivate, rotate, expire, inactivity; keep, waived, retiring, needs-human, own-key change nothing), such that applying it leaves nothing to do. Changes nothing; returns a digest that apply_plan takes. The key this server authenticates with is never acted on."
    )]
    async fn plan(
        &self,
        Parameters(scope): Parameters<Scope>,
    ) -> Result<Json<PlanReport>, ErrorData> {
        let query = self.query(&scope)?;
        let keys = self
            .client
            .collect_all_api_keys(&query)
            .await
            .map_err(|e| self.api(&e))?;
        let memory = peek_journal(&self.client, &self.g).unwrap_or_default();
        let own = lookup::protected_ids(&self.client, &keys, &self.g);
        let now = Utc::now();
        let rows = self.policy.plan(&keys, &memory, &own, now);
        let file = PlanFile::new(&self.server(), now, rows);
        let digest = digest(&file)?;
        let mut changes = BTreeMap::new();
        for row in file.rows.iter().filter(|r| r.action.changes()) {
            *changes.entry(row.action.as_str().to_owned()).or_default() += 1;
        }
        let shown: Vec<PlanRowOut> = file.rows.iter().take(MAX_ROWS).map(row_out).collect();
        let report = PlanReport {
            digest: digest.clone(),
            server: file.server.clone(),
            made_at: now,
            changes,
            not_shown: (file.rows.len() - shown.len()) as u64,
            rows: shown,
            writes_allowed: self.allow_writes,
        };
        let mut plans = self.plans.lock().map_err(|_| poisoned())?;
        if plans.len() == MAX_PLANS {
            plans.pop_front();
        }
        plans.push_back((digest, file));
        Ok(Json(report))
    }

    /// Carries out a plan this server made.
    #[tool(
        name = "apply_plan",
        description = "Apply a plan made by the plan tool, named by its digest (only with --allow-writes). The human confirms it: asked by the client where it can, else `confirm` must repeat the digest after they agreed. Each key is read again first and skipped if it changed since; rotations deliver each new secret to the sink this server was started with and say where, never what. The key this server authenticates with is never acted on."
    )]
    async fn apply_plan(
        &self,
        Parameters(args): Parameters<ApplyArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<Json<ApplyReport>, ErrorData> {
        let peer = context.peer;
        if !self.allow_writes {
            return Err(ErrorData::invalid_request(
                "writes are off: this MCP server was started without --allow-writes; nothing was changed",
                None,
            ));
        }
        let digest = bounded("digest", &args.digest)?.to_owned();
        // Only this server's own plans are kept: a digest from anywhere
        // else (another server, an invented one) names nothing.
        let file = {
            let plans = self.plans.lock().map_err(|_| poisoned())?;
            plans
                .iter()
                .find(|(d, _)| *d == digest)
                .map(|(_, f)| f.clone())
                .ok_or_else(|| {
                    ErrorData::invalid_params(
                        "no plan with this digest: make one with the plan tool (this server keeps its last 16)",
                        None,
                    )
                })?
        };
        let changing: Vec<PlanRow> = file
            .rows
            .iter()
            .filter(|r| r.action.changes())
            .cloned()
            .collect();
        let rotations = changing
            .iter()
            .filter(|r| matches!(r.action, Action::Rotate { .. }))
            .count();
        if rotations > 0 && self.sink.is_stdout() {
            return Err(ErrorData::invalid_request(
                format!(
                    "the plan rotates {rotations} key(s) and this MCP server has no place for new secrets: start it with --secret-dir DIR or --secret-command CMD; nothing was changed"
                ),
                None,
            ));
        }
        self.confirmed(&peer, &digest, args.confirm.as_deref(), &changing)
            .await?;
        let (fresh, mut rows) = recheck(&self.client, &changing, &self.sink, &self.g)
            .await
            .map_err(error)?;
        let done = carry_out(
            &self.client,
            &fresh,
            &self.sink,
            self.users.as_deref(),
            self.concurrency,
            &Stop::new(),
            &self.g,
        )
        .await
        .map_err(error)?;
        rows.extend(done);
        // Applied once: the same digest is not applied again.
        if let Ok(mut plans) = self.plans.lock() {
            plans.retain(|(d, _)| *d != digest);
        }
        Ok(Json(ApplyReport {
            server: self.server(),
            rows: rows
                .into_iter()
                .map(|r| AppliedRow {
                    id: r.id,
                    action: r.action.to_owned(),
                    result: r.result.to_owned(),
                    detail: r.detail,
                })
                .collect(),
        }))
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for KeysServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("h2ogpte-keys", env!("CARGO_PKG_VERSION")))
            .with_instructions(
            "Administers the API keys of one h2oGPTe server. Read with whoami, list_keys, show_key, audit; change keys only by making a plan (plan) and applying it by its digest (apply_plan), which the human confirms. Secrets never appear here: rotated keys' secrets go to the sink the server was started with.",
        )
    }
}

impl KeysServer {
    /// A failed call, in the CLI's words.
    fn api(&self, e: &h2ogpte_api_keys::Error) -> ErrorData {
        error(Failure::from_error(e, self.g.timeout))
    }

    /// The API base this server calls.
    fn server(&self) -> String {
        self.client.base_url().as_str().to_owned()
    }

    /// The listing of a scope, its texts bounded.
    fn query(&self, scope: &Scope) -> Result<h2ogpte_api_keys::ListQuery, ErrorData> {
        if scope.filter.is_some() && scope.user.is_some() {
            return Err(ErrorData::invalid_params(
                "give filter or user, not both",
                None,
            ));
        }
        let filter = scope
            .filter
            .as_deref()
            .map(|f| bounded("filter", f))
            .transpose()?;
        let user = scope
            .user
            .as_deref()
            .map(|u| bounded("user", u))
            .transpose()?;
        Ok(lookup::query(filter, user))
    }

    /// The human's agreement to apply `changing`: asked through the client
    /// where it can (elicitation), else the digest repeated in `confirm`.
    async fn confirmed(
        &self,
        peer: &Peer<RoleServer>,
        digest: &str,
        confirm: Option<&str>,
        changing: &[PlanRow],
    ) -> Result<(), ErrorData> {
        let mut counts = BTreeMap::<&str, usize>::new();
        for row in changing {
            *counts.entry(row.action.as_str()).or_default() += 1;
        }
        let counts: Vec<String> = counts.iter().map(|(a, n)| format!("{n} {a}")).collect();
        let question = format!(
            "Apply {} change(s) ({}) to {}?",
            changing.len(),
            counts.join(", "),
            crate::context::target(&self.server(), &self.g)
        );
        let can_ask = peer
            .peer_info()
            .is_some_and(|info| info.capabilities.elicitation.is_some());
        if can_ask {
            return match peer.elicit::<Confirmation>(question).await {
                Ok(Some(Confirmation { apply: true })) => Ok(()),
                Ok(_)
                | Err(rmcp::service::ElicitationError::UserDeclined)
                | Err(rmcp::service::ElicitationError::UserCancelled) => {
                    Err(ErrorData::invalid_request(
                        "the human did not agree: nothing was changed",
                        None,
                    ))
                }
                // A client that cannot answer after all: the digest decides.
                Err(_) if confirm == Some(digest) => Ok(()),
                Err(e) => Err(ErrorData::invalid_request(
                    format!(
                        "the human could not be asked ({e}): repeat the digest in `confirm` once they agreed; nothing was changed"
                    ),
                    None,
                )),
            };
        }
        if confirm == Some(digest) {
            return Ok(());
        }
        Err(ErrorData::invalid_request(
            format!(
                "confirmation needed: ask the human \"{question}\" and, once they agree, call apply_plan again with `confirm` set to the digest; nothing was changed"
            ),
            None,
        ))
    }
}

/// The row of a plan, as the model sees it.
fn row_out(row: &PlanRow) -> PlanRowOut {
    PlanRowOut {
        id: row.key.id.clone(),
        username: row.key.username.clone(),
        name: row.key.name.clone(),
        findings: row.findings.iter().map(|f| f.as_str().to_owned()).collect(),
        action: row.action.as_str().to_owned(),
        detail: detail(&row.action),
    }
}

/// The digest that names a plan: SHA-256 of its file, hex.
fn digest(file: &PlanFile) -> Result<String, ErrorData> {
    let json = serde_json::to_vec(file)
        .map_err(|e| ErrorData::internal_error(format!("the plan cannot be written: {e}"), None))?;
    Ok(Sha256::digest(&json)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

fn poisoned() -> ErrorData {
    ErrorData::internal_error("the plan store is unusable: restart the MCP server", None)
}
