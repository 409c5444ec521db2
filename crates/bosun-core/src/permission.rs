//! API token permissions: `RESOURCE:ACTION`, `RESOURCE:*`, or `*`, as seed 000's
//! `RequirePermission(resource, permission)`.
//!
//! Tokens store them as text (JSON strings, through [`FromStr`] and
//! [`Display`](fmt::Display)); [`Permission`] is the checked form, and the rules of
//! who may hand out or take away what are here: a permission *covers* another when
//! everything the other grants, it grants too ([`covers_all`]).

use std::fmt;
use std::str::FromStr;

/// What a permission is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resource {
    /// Job definitions.
    Jobs,
    /// Executions of jobs.
    Executions,
    /// Schedules of jobs.
    Schedules,
    /// File triggers of jobs.
    Triggers,
    /// Bot packages and their versions.
    Packages,
    /// API tokens of the tenant.
    Tokens,
    /// The monitor's views.
    Monitor,
    /// Tenants (only tokens of the server's own tenant may use it).
    Tenants,
    /// Remote bot agents and their machine keys.
    Agents,
}

impl Resource {
    /// Every resource, in the order the docs list them.
    pub const ALL: [Self; 9] = [
        Self::Jobs,
        Self::Executions,
        Self::Schedules,
        Self::Triggers,
        Self::Packages,
        Self::Tokens,
        Self::Monitor,
        Self::Tenants,
        Self::Agents,
    ];

    /// Its name in a permission.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Jobs => "jobs",
            Self::Executions => "executions",
            Self::Schedules => "schedules",
            Self::Triggers => "triggers",
            Self::Packages => "packages",
            Self::Tokens => "tokens",
            Self::Monitor => "monitor",
            Self::Tenants => "tenants",
            Self::Agents => "agents",
        }
    }
}

/// What may be done to a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Read.
    View,
    /// Make.
    Create,
    /// Change.
    Update,
    /// Remove.
    Delete,
}

impl Action {
    /// Every action.
    pub const ALL: [Self; 4] = [Self::View, Self::Create, Self::Update, Self::Delete];

    /// Its name in a permission.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::View => "view",
            Self::Create => "create",
            Self::Update => "update",
            Self::Delete => "delete",
        }
    }
}

/// One permission of a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// `*`: everything.
    All,
    /// `RESOURCE:*`: every action on a resource.
    Every(Resource),
    /// `RESOURCE:ACTION`.
    One(Resource, Action),
}

/// A permission that is not one; the message lists what is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown permission {given:?}: use RESOURCE:ACTION with a resource of {resources} and an \
     action of {actions} or *, or * for all",
    resources = names(Resource::ALL.map(Resource::as_str)),
    actions = names(Action::ALL.map(Action::as_str)),
)]
pub struct PermissionError {
    /// The text given.
    pub given: String,
}

fn names<const N: usize>(list: [&str; N]) -> String {
    list.join(", ")
}

impl FromStr for Permission {
    type Err = PermissionError;

    fn from_str(text: &str) -> Result<Self, PermissionError> {
        let error = || PermissionError {
            given: text.to_owned(),
        };
        if text == "*" {
            return Ok(Self::All);
        }
        let (resource, action) = text.split_once(':').ok_or_else(error)?;
        let resource = Resource::ALL
            .into_iter()
            .find(|r| r.as_str() == resource)
            .ok_or_else(error)?;
        if action == "*" {
            return Ok(Self::Every(resource));
        }
        let action = Action::ALL
            .into_iter()
            .find(|a| a.as_str() == action)
            .ok_or_else(error)?;
        Ok(Self::One(resource, action))
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::All => f.write_str("*"),
            Self::Every(r) => write!(f, "{}:*", r.as_str()),
            Self::One(r, a) => write!(f, "{}:{}", r.as_str(), a.as_str()),
        }
    }
}

/// A permission is its text in JSON.
impl serde::Serialize for Permission {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Permission {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl Permission {
    /// True when it grants `action` on `resource`.
    pub fn grants(self, resource: Resource, action: Action) -> bool {
        match self {
            Self::All => true,
            Self::Every(r) => r == resource,
            Self::One(r, a) => r == resource && a == action,
        }
    }
}

/// True when any of `held` grants `action` on `resource`.
pub fn allows(held: &[Permission], resource: Resource, action: Action) -> bool {
    held.iter().any(|p| p.grants(resource, action))
}

/// True when `held` grants everything `wanted` grants: `*` only with `*`,
/// `RESOURCE:*` with every action on the resource, an action with that action.
pub fn covers(held: &[Permission], wanted: Permission) -> bool {
    match wanted {
        Permission::All => held.contains(&Permission::All),
        Permission::Every(r) => Action::ALL.into_iter().all(|a| allows(held, r, a)),
        Permission::One(r, a) => allows(held, r, a),
    }
}

/// The first of `wanted` that `held` does not cover, if any.
pub fn first_uncovered(held: &[Permission], wanted: &[Permission]) -> Option<Permission> {
    wanted.iter().copied().find(|w| !covers(held, *w))
}

/// True when `held` covers each of `wanted`.
pub fn covers_all(held: &[Permission], wanted: &[Permission]) -> bool {
    first_uncovered(held, wanted).is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(list: &[&str]) -> Vec<Permission> {
        list.iter().map(|p| p.parse().unwrap()).collect()
    }

    #[test]
    fn permissions_read_and_print_back() {
        for text in [
            "*",
            "jobs:*",
            "executions:view",
            "tenants:create",
            "agents:delete",
        ] {
            let p: Permission = text.parse().unwrap();
            assert_eq!(p.to_string(), text);
        }
        for bad in [
            "",
            "root",
            "jobs",
            "jobs:launch",
            "job:view",
            "*:view",
            "jobs:*:x",
        ] {
            let e = bad.parse::<Permission>().unwrap_err().to_string();
            assert!(e.contains("unknown permission"), "{bad}: {e}");
            assert!(e.contains("tenants"), "{e}");
            assert!(e.contains("agents"), "{e}");
        }
    }

    #[test]
    fn permissions_match_by_resource_and_action_or_wildcard() {
        use Action::*;
        use Resource::*;
        assert!(allows(&set(&["*"]), Jobs, Delete));
        assert!(allows(&set(&["jobs:*"]), Jobs, Delete));
        assert!(allows(&set(&["executions:view"]), Executions, View));
        assert!(!allows(&set(&["executions:view"]), Executions, Create));
        assert!(!allows(&set(&["executions:view"]), Jobs, View));
        assert!(!allows(&[], Jobs, View));
    }

    #[test]
    fn a_set_covers_only_what_it_grants_itself() {
        let deleter = set(&["tokens:delete", "tokens:view"]);
        assert!(!covers_all(&deleter, &set(&["*"])));
        assert!(covers_all(&deleter, &set(&["tokens:view"])));
        assert!(!covers_all(&deleter, &set(&["tokens:*"])));
        let every_job_action = set(&["jobs:view", "jobs:create", "jobs:update", "jobs:delete"]);
        assert!(covers_all(&every_job_action, &set(&["jobs:*"])));
        assert!(!covers_all(&set(&["jobs:*", "tokens:*"]), &set(&["*"])));
        assert!(covers_all(&set(&["*"]), &set(&["*", "jobs:view"])));
        assert_eq!(
            first_uncovered(&set(&["jobs:view"]), &set(&["jobs:view", "jobs:*"])),
            Some(Permission::Every(Resource::Jobs))
        );
    }
}
