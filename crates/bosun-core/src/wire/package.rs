//! Bot packages as the API shows them, with OpenAutomate's field names (camelCase).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::lenient;

/// A package and its versions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Package {
    /// Its id.
    #[serde(deserialize_with = "lenient::text")]
    pub id: String,
    /// Its name, unique in the tenant.
    #[serde(deserialize_with = "lenient::text")]
    pub name: String,
    /// What it does, if said.
    #[serde(deserialize_with = "lenient::value")]
    pub description: Option<String>,
    /// When it was made.
    #[serde(deserialize_with = "lenient::value")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Option<DateTime<Utc>>,
    /// When a version was last added.
    #[serde(deserialize_with = "lenient::value")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Option<DateTime<Utc>>,
    /// Its versions, oldest first.
    #[serde(deserialize_with = "lenient::value")]
    pub versions: Vec<PackageVersion>,
}

/// One uploaded version of a package.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct PackageVersion {
    /// The version.
    #[serde(deserialize_with = "lenient::text")]
    pub version: String,
    /// The archive's size in bytes.
    #[serde(deserialize_with = "lenient::value")]
    pub size: u64,
    /// The archive's SHA-256, in hex.
    #[serde(deserialize_with = "lenient::text")]
    pub sha256: String,
    /// When it was uploaded.
    #[serde(deserialize_with = "lenient::value")]
    #[schema(value_type = String, format = DateTime)]
    pub uploaded_at: Option<DateTime<Utc>>,
}

/// A link to download a package version, good until `expiresAt`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct PackageLink {
    /// Where to `GET` the ZIP; no token needed until it expires.
    #[serde(deserialize_with = "lenient::text")]
    pub download_url: String,
    /// When the link stops working: its true expiry.
    #[serde(deserialize_with = "lenient::value")]
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Option<DateTime<Utc>>,
    /// The archive's SHA-256, in hex, to check what was downloaded.
    #[serde(deserialize_with = "lenient::text")]
    pub sha256: String,
}

/// A download link for an agent (seed 000's `agent-download`), naming what it gets.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct AgentPackageLink {
    /// Where to `GET` the ZIP; no token needed until it expires.
    #[serde(deserialize_with = "lenient::text")]
    pub download_url: String,
    /// The package's id.
    #[serde(deserialize_with = "lenient::text")]
    pub package_id: String,
    /// The version.
    #[serde(deserialize_with = "lenient::text")]
    pub version: String,
    /// When the link stops working: its true expiry.
    #[serde(deserialize_with = "lenient::value")]
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Option<DateTime<Utc>>,
    /// The archive's SHA-256, in hex, to check what was downloaded.
    #[serde(deserialize_with = "lenient::text")]
    pub sha256: String,
}
