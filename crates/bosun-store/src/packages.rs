//! Bot packages and their versions: what the package storage holds, by tenant.
//!
//! The bytes live in the package storage (a directory, or an S3 bucket) under each
//! version's `object_key`; these rows say which versions there are, their size and
//! checksum, and where. A version is written once: adding one that exists is
//! [`StoreError::Conflict`], decided by the primary key, so two uploads at once of
//! one version (on one server or several) store one. Deleting returns the object
//! keys, for the caller to remove from the storage after the rows are gone.

use bosun_core::package::{PackageName, Version};
use chrono::Utc;
use sqlx::any::AnyRow;
use sqlx::{Any, Transaction};
use uuid::Uuid;

use crate::error::{QueryContext, StoreError, is_unique_violation};
use crate::row::Row;
use crate::time::to_ms;
use crate::{Package, PackageVersion, Store};

const PACKAGE_COLUMNS: &str = "id, tenant_id, name, description, created_at, updated_at";
const VERSION_COLUMNS: &str = "package_id, version, size, sha256, object_key, uploaded_at";

/// A version to record, whose bytes are already in the storage.
#[derive(Debug, Clone)]
pub struct NewPackageVersion {
    /// The version.
    pub version: Version,
    /// The archive's size in bytes.
    pub size: u64,
    /// The archive's SHA-256, in hex.
    pub sha256: String,
    /// Where the storage keeps it.
    pub object_key: String,
}

fn package(row: &AnyRow) -> Result<Package, StoreError> {
    let row = Row::new(row, "packages", "reading a package");
    Ok(Package {
        id: row.get("id")?,
        tenant_id: row.get("tenant_id")?,
        name: row.parsed("name")?,
        description: row.get("description")?,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
        versions: Vec::new(),
    })
}

fn version(row: &AnyRow) -> Result<(String, PackageVersion), StoreError> {
    let row = Row::new(row, "package_versions", "reading a package version");
    let size: i64 = row.get("size")?;
    Ok((
        row.get("package_id")?,
        PackageVersion {
            version: row.parsed("version")?,
            size: u64::try_from(size).unwrap_or_default(),
            sha256: row.get("sha256")?,
            object_key: row.get("object_key")?,
            uploaded_at: row.time("uploaded_at")?,
        },
    ))
}

impl Store {
    /// Records `new` as a version of the tenant's package `name`, creating the package
    /// if it has none of that name (with `description`; an existing package keeps
    /// its own unless one is given). [`StoreError::Conflict`] when the package has
    /// that version already: nothing is written then.
    pub async fn add_package_version(
        &self,
        tenant_id: &str,
        name: &PackageName,
        description: Option<&str>,
        new: &NewPackageVersion,
    ) -> Result<Package, StoreError> {
        let about = "recording a package";
        let now = to_ms(Utc::now());
        let mut tx = self.pool().begin().await.about(about)?;
        sqlx::query(
            "INSERT INTO packages (id, tenant_id, name, description, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (tenant_id, name) DO NOTHING",
        )
        .bind(Uuid::now_v7().to_string())
        .bind(tenant_id)
        .bind(name.as_str())
        .bind(description)
        .bind(now)
        .execute(&mut *tx)
        .await
        .about(about)?;
        let id: String = sqlx::query_scalar(
            "UPDATE packages SET updated_at = $3, description = COALESCE($4, description) \
             WHERE tenant_id = $1 AND name = $2 RETURNING id",
        )
        .bind(tenant_id)
        .bind(name.as_str())
        .bind(now)
        .bind(description)
        .fetch_one(&mut *tx)
        .await
        .about(about)?;
        insert_version(&mut tx, &id, name, new, now).await?;
        tx.commit().await.about(about)?;
        self.package(tenant_id, &id)
            .await?
            .ok_or_else(|| StoreError::Corrupt {
                what: "package",
                why: format!("{name} vanished right after its version was recorded"),
            })
    }

    /// Records `new` as a version of the tenant's package `id`; `None` when the tenant
    /// has no such package, [`StoreError::Conflict`] when it has that version.
    pub async fn add_version_to_package(
        &self,
        tenant_id: &str,
        id: &str,
        new: &NewPackageVersion,
    ) -> Result<Option<Package>, StoreError> {
        let about = "recording a package version";
        let now = to_ms(Utc::now());
        let mut tx = self.pool().begin().await.about(about)?;
        let row = sqlx::query(
            "UPDATE packages SET updated_at = $3 WHERE tenant_id = $1 AND id = $2 RETURNING name",
        )
        .bind(tenant_id)
        .bind(id)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await
        .about(about)?;
        let Some(row) = row else {
            // At once: on SQLite the update holds the write lock until then.
            tx.rollback().await.about(about)?;
            return Ok(None);
        };
        let name: PackageName = Row::new(&row, "packages", about).parsed("name")?;
        insert_version(&mut tx, id, &name, new, now).await?;
        tx.commit().await.about(about)?;
        self.package(tenant_id, id).await
    }

    /// The tenant's packages by name, each with its versions, oldest first.
    pub async fn packages(&self, tenant_id: &str) -> Result<Vec<Package>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {PACKAGE_COLUMNS} FROM packages WHERE tenant_id = $1 ORDER BY name"
        ))
        .bind(tenant_id)
        .fetch_all(self.pool())
        .await
        .about("listing packages")?;
        let mut packages = rows.iter().map(package).collect::<Result<Vec<_>, _>>()?;
        let rows = sqlx::query(
            "SELECT v.package_id, v.version, v.size, v.sha256, v.object_key, v.uploaded_at \
             FROM package_versions AS v JOIN packages AS p ON p.id = v.package_id \
             WHERE p.tenant_id = $1 ORDER BY v.uploaded_at, v.version",
        )
        .bind(tenant_id)
        .fetch_all(self.pool())
        .await
        .about("listing package versions")?;
        let by_id: std::collections::HashMap<String, usize> = packages
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id.clone(), i))
            .collect();
        for row in &rows {
            let (package_id, version) = version(row)?;
            // A package made between the two reads has no row in the first: skip it.
            if let Some(&i) = by_id.get(&package_id) {
                packages[i].versions.push(version);
            }
        }
        Ok(packages)
    }

    /// The tenant's package with this id or, failing that, this name, with its
    /// versions, oldest first.
    pub async fn package(
        &self,
        tenant_id: &str,
        id_or_name: &str,
    ) -> Result<Option<Package>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {PACKAGE_COLUMNS} FROM packages WHERE tenant_id = $1 \
             AND (id = $2 OR name = $2) ORDER BY CASE WHEN id = $2 THEN 0 ELSE 1 END LIMIT 1"
        ))
        .bind(tenant_id)
        .bind(id_or_name)
        .fetch_optional(self.pool())
        .await
        .about("reading a package")?;
        let Some(mut found) = row.as_ref().map(package).transpose()? else {
            return Ok(None);
        };
        let rows = sqlx::query(&format!(
            "SELECT {VERSION_COLUMNS} FROM package_versions WHERE package_id = $1 \
             ORDER BY uploaded_at, version"
        ))
        .bind(&found.id)
        .fetch_all(self.pool())
        .await
        .about("reading a package's versions")?;
        for row in &rows {
            found.versions.push(version(row)?.1);
        }
        Ok(Some(found))
    }

    /// Deletes the tenant's package `id` with its versions; the object keys of those
    /// versions, or `None` when the tenant has no such package.
    pub async fn delete_package(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<Option<Vec<String>>, StoreError> {
        let about = "deleting a package";
        let mut tx = self.pool().begin().await.about(about)?;
        // Writes first: a SQLite transaction that read before it writes cannot wait
        // for the write lock, it fails at once.
        let keys: Vec<String> = sqlx::query_scalar(
            "DELETE FROM package_versions WHERE package_id IN \
             (SELECT id FROM packages WHERE tenant_id = $1 AND id = $2) RETURNING object_key",
        )
        .bind(tenant_id)
        .bind(id)
        .fetch_all(&mut *tx)
        .await
        .about(about)?;
        let done = sqlx::query("DELETE FROM packages WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id)
            .bind(id)
            .execute(&mut *tx)
            .await
            .about(about)?;
        tx.commit().await.about(about)?;
        Ok((done.rows_affected() > 0).then_some(keys))
    }

    /// Deletes one version of the tenant's package `id` (the package stays, even
    /// with no version left); its object key, or `None` when there is no such version.
    pub async fn delete_package_version(
        &self,
        tenant_id: &str,
        id: &str,
        version: &Version,
    ) -> Result<Option<String>, StoreError> {
        sqlx::query_scalar(
            "DELETE FROM package_versions WHERE version = $3 AND package_id = \
             (SELECT id FROM packages WHERE tenant_id = $1 AND id = $2) RETURNING object_key",
        )
        .bind(tenant_id)
        .bind(id)
        .bind(version.as_str())
        .fetch_optional(self.pool())
        .await
        .about("deleting a package version")
    }
}

/// Inserts a version row of package `id`; [`StoreError::Conflict`] when it exists.
async fn insert_version(
    tx: &mut Transaction<'_, Any>,
    id: &str,
    name: &PackageName,
    new: &NewPackageVersion,
    now: i64,
) -> Result<(), StoreError> {
    let size = i64::try_from(new.size).map_err(|_| StoreError::Corrupt {
        what: "package version",
        why: format!("a size of {} bytes does not fit the database", new.size),
    })?;
    let insert = sqlx::query(&format!(
        "INSERT INTO package_versions ({VERSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"
    ))
    .bind(id)
    .bind(new.version.as_str())
    .bind(size)
    .bind(&new.sha256)
    .bind(&new.object_key)
    .bind(now)
    .execute(&mut **tx)
    .await;
    match insert {
        Ok(_) => Ok(()),
        Err(e) if is_unique_violation(&e) => Err(StoreError::Conflict {
            what: "package version",
            name: format!("{name}@{}", new.version),
        }),
        Err(source) => Err(StoreError::Query {
            about: "recording a package version",
            source,
        }),
    }
}
