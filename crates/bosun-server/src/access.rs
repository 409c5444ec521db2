//! Tenants and API tokens: the rules for making and removing them, in one place for
//! the API (a caller acting with its token's permissions) and `bosun admin` (the
//! owner of the data directory or database, acting locally, who may do anything).
//!
//! - A token has at least one permission and a name that passes
//!   [`bosun_core::check_name`].
//! - A caller may mint only a token whose permissions its own cover, and delete only
//!   a token whose permissions its own cover: `tokens:delete` alone cannot remove an
//!   admin token.
//! - A tenant's last token holding `*` is kept ([`bosun_store::Store::delete_token`]):
//!   without it nothing could grant every permission through the API. Should every
//!   way in be lost anyway (a leaked token revoked, a secret forgotten), `bosun admin
//!   token create` mints one on the store directly.
//! - A new tenant gets a token `admin` holding `*`, shown once, and the local runner
//!   as its agent.

use std::path::Path;

use bosun_core::permission::{self, Permission};
use bosun_core::{NameError, check_name, check_slug};
use bosun_store::{Store, StoreError, Tenant, Token, TokenDeletion};

use crate::config::ServerConfig;
use crate::error::ServerError;

/// Why a tenant or token could not be made or removed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AccessError {
    /// A name, slug or permission is not valid; the message says how to fix it.
    #[error("{0}")]
    Invalid(String),
    /// The caller's token does not cover what it asked for.
    #[error("this token lacks the permission {0}")]
    Forbidden(String),
    /// No such tenant or token.
    #[error("{0}")]
    NotFound(String),
    /// Refused by the current state: a slug taken, the last admin token.
    #[error("{0}")]
    Refused(String),
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for AccessError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict { .. } => Self::Refused(e.to_string()),
            e => Self::Store(e),
        }
    }
}

impl From<NameError> for AccessError {
    fn from(e: NameError) -> Self {
        Self::Invalid(e.to_string())
    }
}

/// Opens the store of a data directory the way `bosun up` does: `database_url`, else
/// the SQLite file `bosun.db` in `home` (created, with the directory, if missing).
pub async fn open_store(home: &Path, database_url: Option<String>) -> Result<Store, ServerError> {
    let mut config = ServerConfig::new(home);
    config.database_url = database_url;
    let url = config.database_url();
    if !url.starts_with("postgres") {
        std::fs::create_dir_all(home)
            .map_err(ServerError::io("create the data directory", home))?;
    }
    Ok(Store::open(&url).await?)
}

/// Reads permissions as given; the error names the first bad one and what is valid.
pub fn parse_permissions(given: &[String]) -> Result<Vec<Permission>, AccessError> {
    if given.is_empty() {
        return Err(AccessError::Invalid(
            "a token needs at least one permission: give e.g. \"jobs:view\", or \"*\" for all"
                .to_owned(),
        ));
    }
    given
        .iter()
        .map(|p| p.parse().map_err(|e| AccessError::Invalid(format!("{e}"))))
        .collect()
}

/// The tenant with this slug.
pub async fn tenant(store: &Store, slug: &str) -> Result<Tenant, AccessError> {
    store.tenant_by_slug(slug).await?.ok_or_else(|| {
        AccessError::NotFound(format!(
            "no tenant {slug:?}: `bosun admin tenant ls` lists them"
        ))
    })
}

/// Mints a token of `tenant`. With `minted_by` (a caller's permissions), only one
/// whose permissions those cover. The answer holds the secret, which is not kept.
pub async fn mint_token(
    store: &Store,
    tenant: &Tenant,
    name: &str,
    permissions: &[String],
    minted_by: Option<&[Permission]>,
) -> Result<(Token, String), AccessError> {
    check_name("token", name)?;
    let wanted = parse_permissions(permissions)?;
    if let Some(held) = minted_by
        && let Some(missing) = permission::first_uncovered(held, &wanted)
    {
        return Err(AccessError::Forbidden(format!(
            "{missing} (a token cannot grant more than it has)"
        )));
    }
    Ok(store.create_token(&tenant.id, name, &wanted).await?)
}

/// Deletes a token of `tenant`. With `deleted_by` (a caller's permissions), only one
/// whose permissions those cover; never the tenant's last token holding `*`.
pub async fn revoke_token(
    store: &Store,
    tenant: &Tenant,
    id: &str,
    deleted_by: Option<&[Permission]>,
) -> Result<(), AccessError> {
    let not_found =
        || AccessError::NotFound(format!("no token {id:?} in tenant {:?}", tenant.slug));
    if let Some(held) = deleted_by {
        let target = store.token(&tenant.id, id).await?.ok_or_else(not_found)?;
        if let Some(missing) = permission::first_uncovered(held, &target.permissions) {
            return Err(AccessError::Forbidden(format!(
                "{missing} (a token cannot delete one with permissions it lacks)"
            )));
        }
    }
    match store.delete_token(&tenant.id, id).await? {
        TokenDeletion::Deleted => Ok(()),
        TokenDeletion::NotFound => Err(not_found()),
        TokenDeletion::LastAdmin => Err(AccessError::Refused(format!(
            "token {id:?} is the last one of tenant {:?} holding \"*\": create another with \
             \"*\" first (or, with access to the server's data, `bosun admin token create`)",
            tenant.slug
        ))),
    }
}

/// Makes a tenant, its admin token (returned with its secret, shown once) and its
/// local agent. `name` defaults to the slug.
pub async fn create_tenant(
    store: &Store,
    slug: &str,
    name: Option<&str>,
) -> Result<(Tenant, Token, String), AccessError> {
    check_slug(slug)?;
    let name = name.unwrap_or(slug);
    check_name("tenant", name)?;
    let tenant = store.create_tenant(slug, name).await?;
    let (token, secret) = mint_token(
        store,
        &tenant,
        "admin",
        &[Permission::All.to_string()],
        None,
    )
    .await?;
    store
        .ensure_agent(&tenant.id, crate::runner::RUNNER_NAME)
        .await?;
    Ok((tenant, token, secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions_are_checked_and_an_empty_list_is_refused() {
        let e = parse_permissions(&[]).unwrap_err().to_string();
        assert!(e.contains("at least one permission"), "{e}");
        let e = parse_permissions(&["jobs:launch".to_owned()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown permission \"jobs:launch\""), "{e}");
        assert_eq!(
            parse_permissions(&["*".to_owned()]).unwrap(),
            [Permission::All]
        );
    }
}
