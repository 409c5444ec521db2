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

/// A machine that runs executions for a tenant (seed 000's BotAgent): the server's
/// own runner (`local`), or a remote agent connected to the hub with its machine key.
/// The key itself is never part of it: see [`CreatedAgent`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Agent {
    /// Its id (seed 000's `BotAgentId`).
    #[serde(deserialize_with = "lenient::text")]
    pub id: String,
    /// The tenant it serves.
    #[serde(deserialize_with = "lenient::text")]
    pub tenant_id: String,
    /// Its name, unique in the tenant.
    #[serde(deserialize_with = "lenient::text")]
    pub name: String,
    /// The name of the machine it runs on, as its owner gave it (may be empty).
    #[serde(deserialize_with = "lenient::text")]
    pub machine_name: String,
    /// `Available`, `Busy` or `Disconnected`; `None` only when read from a server
    /// with a status this build does not know.
    #[serde(deserialize_with = "lenient::value")]
    #[schema(value_type = String)]
    pub status: Option<AgentStatus>,
    /// When it last showed it was alive.
    #[serde(deserialize_with = "lenient::value")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_heartbeat: Option<DateTime<Utc>>,
    /// When it last connected to the hub.
    #[serde(deserialize_with = "lenient::value")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_connected: Option<DateTime<Utc>>,
    /// False once deactivated: its machine key no longer lets it in.
    #[serde(deserialize_with = "lenient::value")]
    pub is_active: bool,
    /// When it was made.
    #[serde(deserialize_with = "lenient::value")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Option<DateTime<Utc>>,
}

/// An agent just made, or just given a new machine key, with that key: the only
/// answers that show it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct CreatedAgent {
    /// The agent.
    #[serde(flatten)]
    pub agent: Agent,
    /// Its machine key, for `bosun agent --machine-key` (or seed 000's agent
    /// service); stored only as a hash.
    #[serde(deserialize_with = "lenient::text")]
    pub machine_key: String,
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

    #[test]
    fn a_created_agent_is_the_agent_with_its_machine_key_in_camel_case() {
        let created = CreatedAgent {
            agent: Agent {
                id: "a".into(),
                machine_name: "box-1".into(),
                status: Some(AgentStatus::Disconnected),
                is_active: true,
                ..Agent::default()
            },
            machine_key: "bmk_s3cret".into(),
        };
        let value = serde_json::to_value(&created).unwrap();
        assert_eq!(value["id"], "a");
        assert_eq!(value["machineName"], "box-1");
        assert_eq!(value["status"], "Disconnected");
        assert_eq!(value["isActive"], true);
        assert_eq!(value["lastHeartbeat"], serde_json::Value::Null);
        assert_eq!(value["machineKey"], "bmk_s3cret");
        let back: CreatedAgent = serde_json::from_value(value).unwrap();
        assert_eq!(back, created);
        let listed = serde_json::to_value(&created.agent).unwrap();
        assert!(listed.get("machineKey").is_none(), "{listed}");
    }
}
