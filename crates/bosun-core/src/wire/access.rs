//! Who may do what: tenants, their API tokens, and the agents that run their jobs.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::lenient;
use crate::{AgentStatus, Permission};

/// A tenant: everything else belongs to exactly one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Tenant {
    /// Its id.
    #[serde(deserialize_with = "lenient::text")]
    pub id: String,
    /// The short name of seed 000's routes (`/{tenant}/api/...`).
    #[serde(deserialize_with = "lenient::text")]
    pub slug: String,
    /// A display name.
    #[serde(deserialize_with = "lenient::text")]
    pub name: String,
    /// When it was made.
    #[serde(deserialize_with = "lenient::value")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Option<DateTime<Utc>>,
}

/// An API token, never with its secret.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Token {
    /// Its id (also the visible prefix of the secret).
    #[serde(deserialize_with = "lenient::text")]
    pub id: String,
    /// The tenant it acts for.
    #[serde(deserialize_with = "lenient::text")]
    pub tenant_id: String,
    /// A name to recognise it by.
    #[serde(deserialize_with = "lenient::text")]
    pub name: String,
    /// What it may do, e.g. `executions:view`, `jobs:*`, `*`.
    #[serde(deserialize_with = "lenient::value")]
    #[schema(value_type = Vec<String>)]
    pub permissions: Vec<Permission>,
    /// When it was made.
    #[serde(deserialize_with = "lenient::value")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Option<DateTime<Utc>>,
}

/// A token just made, with its secret: the only answer that shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct CreatedToken {
    /// The token.
    #[serde(flatten)]
    pub token: Token,
    /// Its secret, for `Authorization: Bearer`.
    #[serde(rename = "token", deserialize_with = "lenient::text")]
    pub secret: String,
}

/// A tenant just made, with its admin token.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct CreatedTenant {
    /// The tenant.
    pub tenant: Tenant,
    /// Its admin token, with the secret.
    pub token: CreatedToken,
}

/// Who a token is (`GET /api/me`): its tenant, whose slug the `/{tenant}/api/...`
/// routes take, and what it may do.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct Me {
    /// The token's tenant.
    #[serde(deserialize_with = "lenient::value")]
    pub tenant: Tenant,
    /// What the token may do, e.g. `executions:view`, `jobs:*`, `*`.
    #[serde(deserialize_with = "lenient::value")]
    #[schema(value_type = Vec<String>)]
    pub permissions: Vec<Permission>,
}

/// A machine that runs executions for a tenant (seed 000's BotAgent). The embedded
/// server has one, its local runner.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Agent {
    /// Its id (seed 000's `BotAgentId`).
    #[serde(deserialize_with = "lenient::text")]
    pub id: String,
    /// The tenant it serves.
    #[serde(deserialize_with = "lenient::text")]
    pub tenant_id: String,
    /// Its name.
    #[serde(deserialize_with = "lenient::text")]
    pub name: String,
    /// `Available`, `Busy` or `Error`; `None` only when read from a server with a
    /// status this build does not know.
    #[serde(deserialize_with = "lenient::value")]
    #[schema(value_type = String)]
    pub status: Option<AgentStatus>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_created_token_shows_its_secret_as_token() {
        let created = CreatedToken {
            token: Token {
                id: "t".into(),
                ..Token::default()
            },
            secret: "s3cret".into(),
        };
        let value = serde_json::to_value(&created).unwrap();
        assert_eq!(value["id"], "t");
        assert_eq!(value["token"], "s3cret");
        let back: CreatedToken = serde_json::from_value(value).unwrap();
        assert_eq!(back, created);
    }

    #[test]
    fn me_keeps_its_tenant_when_a_newer_server_names_unknown_permissions() {
        let json = r#"{"tenant": {"slug": "acme"}, "permissions": ["jobs:*", "*"]}"#;
        let me: Me = serde_json::from_str(json).unwrap();
        assert_eq!(me.tenant.slug, "acme");
        assert_eq!(
            me.permissions,
            vec![Permission::Every(crate::Resource::Jobs), Permission::All]
        );
        let newer = r#"{"tenant": {"slug": "acme"}, "permissions": ["robots:fly"]}"#;
        let me: Me = serde_json::from_str(newer).unwrap();
        assert_eq!(me.tenant.slug, "acme", "the tenant is still read");
    }
}
