//! The HTTP layer: the router and its handlers for the six operations under
//! `/api/v1`, bearer authentication, request decoding, and the spec at
//! `/api-spec.yaml`.

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, Query, Request, State},
    http::{HeaderMap, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, patch, post},
};
use serde::{Deserialize, de::DeserializeOwned};

use crate::{
    error::{ApiError, quote},
    model::{CreateRequest, UpdateExpiryRequest, UpdateInactivityIntervalRequest},
    secret::{NewKey, sha256},
    state::AppState,
    world::ApiVersion,
};

/// The spec this server implements, served at `/api-spec.yaml` like the real server.
/// (A copy of the workspace's spec, kept equal by `cargo xtask check`, so
/// the published package builds from what it ships.)
pub const SPEC_YAML: &str = include_str!("../openapi/h2ogpte-api-keys.yaml");

/// Largest `limit` a list accepts.
pub const MAX_LIMIT: usize = 1000;

/// The whole server as a router: the six operations under `/api/v1`, the spec
/// at `/api-spec.yaml`, and an `EndpointError` 404 for anything else.
pub fn app(state: AppState) -> Router {
    let api = Router::new()
        .route("/admin/api_keys", post(api_keys_create).get(api_keys_list))
        .route(
            "/admin/api_keys/deactivate/{key_id}",
            post(api_keys_deactivate),
        )
        .route(
            "/admin/api_keys/expire/{key_id}",
            patch(api_keys_update_expiry),
        )
        .route(
            "/admin/api_keys/inactivity_interval/{key_id}",
            patch(api_keys_update_inactivity_interval),
        )
        .route(
            "/admin/api_keys/{key_id}",
            axum::routing::delete(api_keys_delete),
        )
        .route_layer(middleware::from_fn_with_state(state.clone(), require_admin))
        .method_not_allowed_fallback(method_not_allowed);
    let router = Router::new()
        .route("/api-spec.yaml", get(spec_yaml))
        .nest("/api/v1", api)
        .fallback(unknown_route)
        .layer(middleware::map_response(endpoint_errors));
    // Only a server that plays one far away pays for the delay layer.
    let router = if state.latency().is_zero() {
        router
    } else {
        router.layer(middleware::from_fn_with_state(state.clone(), delay))
    };
    router.with_state(state)
}

/// Delays each response by the state's latency, after the handler is done,
/// so no lock is held while it waits.
async fn delay(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    tokio::time::sleep(state.latency()).await;
    response
}

/// Most bytes of a non-JSON error body (an extractor's rejection text) kept
/// as the message of the `EndpointError` that replaces it.
const REJECTION_TEXT_LIMIT: usize = 1024;

/// Turns every error response that is not already an `EndpointError` (the
/// extractors' rejections: 413 for a body over the limit, 400 for a
/// malformed chunked body, 415, 422) into one, so a client meets one shape.
async fn endpoint_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = match axum::body::to_bytes(body, REJECTION_TEXT_LIMIT).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_owned(),
        Err(_) => String::new(),
    };
    let message = if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("request failed")
            .to_owned()
    } else {
        text
    };
    let mut replaced = ApiError::new(status, message).into_response();
    // Keep what the rejection said beyond its body, such as `Allow`.
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            replaced.headers_mut().insert(name, value.clone());
        }
    }
    replaced
}

async fn require_admin(
    State(state): State<AppState>,
    headers: HeaderMap,
    request: Request,
    next: Next,
) -> Response {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
    let Some(secret) = bearer.filter(|s| !s.is_empty()) else {
        return ApiError::unauthorized(
            "missing bearer token: send Authorization: Bearer <API key>",
        )
        .into_response();
    };
    let now = state.now();
    // Hashed before the lock: the store's critical section stays a lookup.
    let presented = sha256(secret);
    if let Err(e) = state.store().authenticate(&presented, now) {
        return e.into_response();
    }
    next.run(request).await
}

/// Decodes a JSON object body. An empty body is `None`; anything but a JSON
/// object (an array would otherwise fill the fields in order), a wrong content
/// type or a wrong field type is a 400 naming the problem.
fn json_object<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Option<T>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(ApiError::bad_request(
            "send the body as JSON with Content-Type: application/json",
        ));
    }
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("invalid request body: not JSON: {e}")))?;
    let Some(object) = value.as_object() else {
        return Err(ApiError::bad_request(
            "invalid request body: expected a JSON object",
        ));
    };
    // No field of these requests is nullable: an unset field is left out.
    if let Some((field, _)) = object.iter().find(|(_, v)| v.is_null()) {
        return Err(ApiError::bad_request(format!(
            "invalid request body: {field} must not be null; leave it out instead"
        )));
    }
    // The path names the field a type error is in, as in `user_id: invalid type`.
    serde_path_to_error::deserialize(value)
        .map(Some)
        .map_err(|e| {
            ApiError::bad_request(format!("invalid request body: {}: {}", e.path(), e.inner()))
        })
}

/// The `key_id` path parameter, percent-decoded; a rejection is a 400.
struct KeyId(String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for KeyId {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(id)) => Ok(Self(id)),
            Err(e) => Err(ApiError::bad_request(format!(
                "invalid key_id: {}",
                quote(&e.body_text())
            ))),
        }
    }
}

async fn api_keys_create(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: CreateRequest = json_object(&headers, &body)?.ok_or_else(|| {
        ApiError::bad_request("invalid request body: expected a JSON object with user_id")
    })?;
    // The secret, its hash and the id are made before the lock.
    let key = NewKey::generate();
    let now = state.now();
    let created = state.store().create(req, key, now)?;
    tracing::info!(key_id = %created.api_key.id, user = %created.api_key.username, "created API key");
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

/// The query parameters of the spec this server honours, by operationId.
/// Its conformance test checks that every one the spec documents is here
/// or in [`IGNORED_QUERY_PARAMETERS`], so a parameter a new release adds
/// cannot be silently ignored.
pub const HONOURED_QUERY_PARAMETERS: [(&str, &str); 3] = [
    ("list_all_api_keys", "offset"),
    ("list_all_api_keys", "limit"),
    ("list_all_api_keys", "filter"),
];

/// Query parameters of the spec this server accepts and ignores on
/// purpose, by operationId, each with the reason.
pub const IGNORED_QUERY_PARAMETERS: [(&str, &str, &str); 0] = [];

/// Query of `list_all_api_keys`. Signed so that a negative value is a range
/// error with a clear message rather than a parse error.
#[derive(Deserialize)]
struct ListQuery {
    offset: Option<i64>,
    limit: Option<i64>,
    filter: Option<String>,
}

async fn api_keys_list(
    State(state): State<AppState>,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) =
        query.map_err(|e| ApiError::bad_request(format!("invalid query: {}", e.body_text())))?;
    let offset = q.offset.unwrap_or(0);
    let limit = q.limit.unwrap_or(100);
    let offset = usize::try_from(offset)
        .map_err(|_| ApiError::bad_request(format!("offset must be 0 or more, not {offset}")))?;
    let limit = usize::try_from(limit)
        .ok()
        .filter(|l| (1..=MAX_LIMIT).contains(l))
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "limit must be between 1 and {MAX_LIMIT}, not {limit}"
            ))
        })?;
    let now = state.now();
    let page = state.store().list(offset, limit, q.filter.as_deref(), now);
    Ok(Json(page).into_response())
}

async fn api_keys_deactivate(
    State(state): State<AppState>,
    KeyId(key_id): KeyId,
) -> Result<StatusCode, ApiError> {
    let now = state.now();
    state.store().deactivate(&key_id, now)?;
    tracing::info!(%key_id, "deactivated API key");
    Ok(StatusCode::NO_CONTENT)
}

async fn api_keys_delete(
    State(state): State<AppState>,
    KeyId(key_id): KeyId,
) -> Result<StatusCode, ApiError> {
    state.store().delete(&key_id)?;
    tracing::info!(%key_id, "deleted API key");
    Ok(StatusCode::NO_CONTENT)
}

/// The body is optional: none at all, or `{}`, removes the expiry.
async fn api_keys_update_expiry(
    State(state): State<AppState>,
    KeyId(key_id): KeyId,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let req: UpdateExpiryRequest = json_object(&headers, &body)?.unwrap_or_default();
    let now = state.now();
    state.store().update_expiry(&key_id, req, now)?;
    tracing::info!(%key_id, "updated API key expiry");
    Ok(StatusCode::NO_CONTENT)
}

/// The body is optional: none at all, or `{}`, removes the interval. A
/// server playing 1.6 has no such route and answers as its framework does.
async fn api_keys_update_inactivity_interval(
    State(state): State<AppState>,
    KeyId(key_id): KeyId,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    if state.store().api_version() == ApiVersion::V1_6 {
        return Ok(not_found_before_1_7());
    }
    let req: UpdateInactivityIntervalRequest = json_object(&headers, &body)?.unwrap_or_default();
    state.store().update_inactivity_interval(&key_id, req)?;
    tracing::info!(%key_id, "updated API key inactivity interval");
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// What a server before 1.7.0 answers for a route it does not have: a 404
/// that is not an `EndpointError` (its web framework's own body).
fn not_found_before_1_7() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(serde_json::json!({ "detail": "Not Found" })),
    )
        .into_response()
}

async fn spec_yaml() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/yaml")], SPEC_YAML)
}

async fn unknown_route(request: Request) -> ApiError {
    ApiError::not_found(format!(
        "no route for {} {}",
        quote(request.method().as_str()),
        quote(request.uri().path())
    ))
}

async fn method_not_allowed(request: Request) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!(
            "{} is not allowed on {}",
            quote(request.method().as_str()),
            quote(request.uri().path())
        ),
    )
}
