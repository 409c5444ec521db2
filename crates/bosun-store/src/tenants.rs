//! Tenants and their API tokens.

use bosun_core::Permission;
use chrono::Utc;
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use uuid::Uuid;

use crate::error::{QueryContext, StoreError, is_unique_violation};
use crate::row::Row;
use crate::time::{from_ms, to_ms};
use crate::{Store, Tenant, Token};

/// What [`Store::delete_token`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenDeletion {
    /// The token is gone.
    Deleted,
    /// The tenant has no token with that id.
    NotFound,
    /// It is the tenant's last token holding `*`, and was kept.
    LastAdmin,
}

/// The prefix of every token secret, so a leaked one is recognisable in a scan.
pub const TOKEN_PREFIX: &str = "bsn_";

/// A new secret with `prefix`: 244 random bits from the OS's generator.
pub(crate) fn new_secret(prefix: &str) -> String {
    format!(
        "{prefix}{}{}",
        Uuid::new_v4().simple(),
        Uuid::new_v4().simple()
    )
}

/// A secret as stored: its SHA-256, in hex. Secrets are found by this hash, so no
/// comparison ever runs over the secret itself.
pub(crate) fn hash(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn tenant(row: &AnyRow) -> Result<Tenant, StoreError> {
    let row = Row::new(row, "tenants", "reading a tenant");
    Ok(Tenant {
        id: row.get("id")?,
        slug: row.get("slug")?,
        name: row.get("name")?,
        created_at: row.time("created_at")?,
    })
}

fn token(row: &AnyRow) -> Result<Token, StoreError> {
    let row = Row::new(row, "tokens", "reading a token");
    Ok(Token {
        id: row.get("id")?,
        tenant_id: row.get("tenant_id")?,
        name: row.get("name")?,
        permissions: row.json("permissions")?,
        created_at: row.time("created_at")?,
    })
}

impl Store {
    /// The tenant with this slug, created (with `name`) if there is none. Two
    /// servers doing this at once get the same tenant.
    pub async fn ensure_tenant(&self, slug: &str, name: &str) -> Result<Tenant, StoreError> {
        sqlx::query(
            "INSERT INTO tenants (id, slug, name, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (slug) DO NOTHING",
        )
        .bind(Uuid::now_v7().to_string())
        .bind(slug)
        .bind(name)
        .bind(to_ms(Utc::now()))
        .execute(self.pool())
        .await
        .about("creating a tenant")?;
        self.tenant_by_slug(slug).await?.ok_or(StoreError::Corrupt {
            what: "tenant",
            why: format!("{slug:?} vanished right after it was created"),
        })
    }

    /// Makes a tenant; [`StoreError::Conflict`] when the slug is taken. The slug and
    /// name are the caller's to check.
    pub async fn create_tenant(&self, slug: &str, name: &str) -> Result<Tenant, StoreError> {
        let tenant = Tenant {
            id: Uuid::now_v7().to_string(),
            slug: slug.to_owned(),
            name: name.to_owned(),
            created_at: from_ms(to_ms(Utc::now())),
        };
        let inserted =
            sqlx::query("INSERT INTO tenants (id, slug, name, created_at) VALUES ($1, $2, $3, $4)")
                .bind(&tenant.id)
                .bind(slug)
                .bind(name)
                .bind(to_ms(tenant.created_at))
                .execute(self.pool())
                .await;
        match inserted {
            Ok(_) => Ok(tenant),
            Err(e) if is_unique_violation(&e) => Err(StoreError::Conflict {
                what: "tenant",
                name: slug.to_owned(),
            }),
            Err(source) => Err(StoreError::Query {
                about: "creating a tenant",
                source,
            }),
        }
    }

    /// The tenant with this slug.
    pub async fn tenant_by_slug(&self, slug: &str) -> Result<Option<Tenant>, StoreError> {
        sqlx::query("SELECT id, slug, name, created_at FROM tenants WHERE slug = $1")
            .bind(slug)
            .fetch_optional(self.pool())
            .await
            .about("reading a tenant")?
            .as_ref()
            .map(tenant)
            .transpose()
    }

    /// Every tenant.
    pub async fn tenants(&self) -> Result<Vec<Tenant>, StoreError> {
        sqlx::query("SELECT id, slug, name, created_at FROM tenants ORDER BY slug")
            .fetch_all(self.pool())
            .await
            .about("listing tenants")?
            .iter()
            .map(tenant)
            .collect()
    }

    /// Makes a token for `tenant_id` and returns it with its secret, which is not
    /// kept and cannot be shown again.
    pub async fn create_token(
        &self,
        tenant_id: &str,
        name: &str,
        permissions: &[Permission],
    ) -> Result<(Token, String), StoreError> {
        let id = Uuid::now_v7().to_string();
        let secret = new_secret(TOKEN_PREFIX);
        let now = Utc::now();
        sqlx::query(
            "INSERT INTO tokens (id, tenant_id, name, secret_hash, permissions, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&id)
        .bind(tenant_id)
        .bind(name)
        .bind(hash(&secret))
        .bind(serde_json::to_string(permissions).expect("a list of permissions serializes"))
        .bind(to_ms(now))
        .execute(self.pool())
        .await
        .about("creating a token")?;
        let token = Token {
            id,
            tenant_id: tenant_id.to_owned(),
            name: name.to_owned(),
            permissions: permissions.to_vec(),
            created_at: from_ms(to_ms(now)),
        };
        Ok((token, secret))
    }

    /// The token whose secret this is, with its tenant.
    pub async fn token_by_secret(
        &self,
        secret: &str,
    ) -> Result<Option<(Token, Tenant)>, StoreError> {
        let row = sqlx::query(
            "SELECT k.id, k.tenant_id, k.name, k.permissions, k.created_at, \
                    t.slug, t.name AS tenant_name, t.created_at AS tenant_created_at \
             FROM tokens k JOIN tenants t ON t.id = k.tenant_id WHERE k.secret_hash = $1",
        )
        .bind(hash(secret))
        .fetch_optional(self.pool())
        .await
        .about("checking a token")?;
        let Some(row) = row else { return Ok(None) };
        let found = token(&row)?;
        let row = Row::new(&row, "tenants", "checking a token");
        let tenant = Tenant {
            id: found.tenant_id.clone(),
            slug: row.get("slug")?,
            name: row.get("tenant_name")?,
            created_at: row.time("tenant_created_at")?,
        };
        Ok(Some((found, tenant)))
    }

    /// The tenant's tokens (never their secrets).
    pub async fn tokens(&self, tenant_id: &str) -> Result<Vec<Token>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, tenant_id, name, permissions, created_at FROM tokens \
             WHERE tenant_id = $1 ORDER BY created_at, id",
        )
        .bind(tenant_id)
        .fetch_all(self.pool())
        .await
        .about("listing tokens")?;
        rows.iter().map(token).collect()
    }

    /// The tenant's token with this id (never its secret).
    pub async fn token(&self, tenant_id: &str, id: &str) -> Result<Option<Token>, StoreError> {
        let row = sqlx::query(
            "SELECT id, tenant_id, name, permissions, created_at FROM tokens \
             WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant_id)
        .bind(id)
        .fetch_optional(self.pool())
        .await
        .about("reading a token")?;
        row.as_ref().map(token).transpose()
    }

    /// Deletes a token of the tenant, unless it is the tenant's last one holding `*`:
    /// without one, nothing could mint tokens or grant every permission again
    /// through the API. Two deletions at once cannot both take the last two: each
    /// holds the tenant's row for its transaction.
    pub async fn delete_token(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<TokenDeletion, StoreError> {
        let mut tx = self.begin().await?;
        // Takes the write lock (SQLite) or the tenant row's lock (PostgreSQL).
        sqlx::query("UPDATE tenants SET name = name WHERE id = $1")
            .bind(tenant_id)
            .execute(&mut *tx)
            .await
            .about("locking a tenant")?;
        let rows = sqlx::query(
            "SELECT id, tenant_id, name, permissions, created_at FROM tokens WHERE tenant_id = $1",
        )
        .bind(tenant_id)
        .fetch_all(&mut *tx)
        .await
        .about("listing tokens")?;
        let tokens = rows.iter().map(token).collect::<Result<Vec<_>, _>>()?;
        let is_admin = |t: &Token| t.permissions.contains(&Permission::All);
        let Some(target) = tokens.iter().find(|t| t.id == id) else {
            return Ok(TokenDeletion::NotFound);
        };
        if is_admin(target) && tokens.iter().filter(|t| is_admin(t)).count() == 1 {
            return Ok(TokenDeletion::LastAdmin);
        }
        sqlx::query("DELETE FROM tokens WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id)
            .bind(id)
            .execute(&mut *tx)
            .await
            .about("deleting a token")?;
        tx.commit().await.about("deleting a token")?;
        Ok(TokenDeletion::Deleted)
    }
}
