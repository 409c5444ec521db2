//! Who is calling: the bearer token, its tenant and its permissions.
//!
//! Permissions are `resource:action` strings, as seed 000's
//! `RequirePermission(resource, permission)`: resources `jobs`, `executions`,
//! `schedules`, `triggers`, `tokens`, `monitor`; actions `view`, `create`, `update`,
//! `delete`. `resource:*` grants every action on a resource, `*` everything.
//!
//! A token the store confirmed is believed for a few seconds without asking it again
//! ([`cache`]).

pub(crate) mod cache;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use bosun_store::{Tenant, Token};

use crate::error::ApiError;
use crate::state::AppState;

/// An authenticated caller.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub(crate) token: Token,
    pub(crate) tenant: Tenant,
}

impl Caller {
    /// Succeeds when the token may do `action` on `resource`.
    pub(crate) fn require(&self, resource: &str, action: &str) -> Result<(), ApiError> {
        if allows(&self.token.permissions, resource, action) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!("{resource}:{action}")))
        }
    }
}

/// True when `permissions` grant `action` on `resource`.
pub(crate) fn allows(permissions: &[String], resource: &str, action: &str) -> bool {
    permissions.iter().any(|p| {
        p == "*"
            || match p.split_once(':') {
                Some((r, a)) => r == resource && (a == "*" || a == action),
                None => false,
            }
    })
}

/// The permission names a token may be given.
pub(crate) const RESOURCES: &[&str] = &[
    "jobs",
    "executions",
    "schedules",
    "triggers",
    "tokens",
    "monitor",
];
/// The actions of each resource.
pub(crate) const ACTIONS: &[&str] = &["view", "create", "update", "delete"];

/// Checks a permission string; the error says what is allowed.
pub(crate) fn check_permission(p: &str) -> Result<(), ApiError> {
    if p == "*" {
        return Ok(());
    }
    match p.split_once(':') {
        Some((r, a)) if RESOURCES.contains(&r) && (a == "*" || ACTIONS.contains(&a)) => Ok(()),
        _ => Err(ApiError::BadRequest(format!(
            "unknown permission {p:?}: use RESOURCE:ACTION with a resource of {} and an action of {} or *, or * for all",
            RESOURCES.join(", "),
            ACTIONS.join(", ")
        ))),
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(ApiError::Unauthorized)?;
        let secret = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .ok_or(ApiError::Unauthorized)?
            .trim();
        let key = cache::key(secret);
        let generation = match state.tokens.get(&key) {
            Ok((token, tenant)) => return Ok(Self { token, tenant }),
            Err(generation) => generation,
        };
        let (token, tenant) = state
            .store
            .token_by_secret(secret)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        state.tokens.put(key, generation, &token, &tenant);
        Ok(Self { token, tenant })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions_match_exactly_by_resource_and_action_or_wildcard() {
        let p = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(allows(&p(&["*"]), "jobs", "delete"));
        assert!(allows(&p(&["jobs:*"]), "jobs", "delete"));
        assert!(allows(&p(&["executions:view"]), "executions", "view"));
        assert!(!allows(&p(&["executions:view"]), "executions", "create"));
        assert!(!allows(&p(&["executions:view"]), "jobs", "view"));
        assert!(!allows(&p(&[]), "jobs", "view"));
        assert!(check_permission("jobs:view").is_ok());
        assert!(check_permission("jobs:launch").is_err());
        assert!(check_permission("root").is_err());
    }
}
