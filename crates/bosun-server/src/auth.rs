//! Who is calling: the bearer token, its tenant and its permissions.
//!
//! Permissions are `resource:action`, as seed 000's `RequirePermission(resource,
//! permission)`: resources `jobs`, `executions`, `schedules`, `triggers`, `packages`,
//! `tokens`, `monitor`, `tenants`, `agents`; actions `view`, `create`, `update`,
//! `delete`. `resource:*` grants every action on a resource, `*` everything
//! ([`bosun_core::permission`]).
//!
//! A token the store confirmed is believed for a few seconds without asking it again
//! ([`cache`]).

pub(crate) mod cache;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use bosun_core::permission::{self, Action, Permission, Resource};
use bosun_store::{Tenant, Token};

use crate::error::ApiError;
use crate::state::AppState;

/// An authenticated caller.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub(crate) tenant: Tenant,
    /// The token's permissions, read.
    pub(crate) permissions: Vec<Permission>,
}

impl Caller {
    fn new(token: Token, tenant: Tenant) -> Self {
        Self {
            permissions: token.permissions,
            tenant,
        }
    }

    /// Succeeds when the token may do `action` on `resource`.
    pub(crate) fn require(&self, resource: Resource, action: Action) -> Result<(), ApiError> {
        if permission::allows(&self.permissions, resource, action) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(
                Permission::One(resource, action).to_string(),
            ))
        }
    }
}

/// The secret of an `Authorization: Bearer <token>` header, if the request has one.
pub(crate) fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    let header = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let secret = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))?;
    Some(secret.trim())
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let secret = bearer(&parts.headers).ok_or(ApiError::Unauthorized)?;
        Self::from_secret(state, secret).await
    }
}

impl Caller {
    /// The caller whose token's secret is `secret`.
    pub(crate) async fn from_secret(state: &AppState, secret: &str) -> Result<Self, ApiError> {
        let key = cache::key(secret);
        let generation = match state.tokens.get(&key) {
            Ok((token, tenant)) => return Ok(Self::new(token, tenant)),
            Err(generation) => generation,
        };
        let (token, tenant) = state
            .store
            .token_by_secret(secret)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        state.tokens.put(key, generation, &token, &tenant);
        Ok(Self::new(token, tenant))
    }
}
