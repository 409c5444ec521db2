//! The roles of `bosun worker`'s jobs (seeds 003/004's `manager`, `inspector` and
//! `agent`, and bosun's `process` and `chat`): what a stream's jobs are, and so how
//! they run. Their text form (in notifications, metrics labels and the results store)
//! is written here once, by [`Role::name`], and read back by [`Role::from_name`].

use std::str::FromStr;

/// What a stream's jobs are, and so how they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Planning: the task goes to the manager model.
    Manager,
    /// Review: `{"code": payload, "task": task}` goes to the inspector model.
    Inspector,
    /// A specific task: the task goes to the agent model.
    Agent,
    /// A process job (seed 002's JSON in the payload), run here under supervision.
    Process,
    /// A chat message (`message`, or `task`) that gets an LLM reply.
    Chat,
}

impl Role {
    /// Every role, in the order their streams are read.
    pub const ALL: [Role; 5] = [
        Role::Manager,
        Role::Inspector,
        Role::Agent,
        Role::Process,
        Role::Chat,
    ];

    /// Its name: `manager`, `inspector`, `agent`, `process`, `chat`.
    pub fn name(self) -> &'static str {
        match self {
            Role::Manager => "manager",
            Role::Inspector => "inspector",
            Role::Agent => "agent",
            Role::Process => "process",
            Role::Chat => "chat",
        }
    }

    /// The role named `name` (exactly as [`Role::name`] writes it), if any.
    pub fn from_name(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.name() == name)
    }

    /// The stream it is read from by default.
    pub fn default_stream(self) -> &'static str {
        match self {
            Role::Manager => "jobs:manager",
            Role::Inspector => "jobs:inspector",
            Role::Agent => "jobs:agent",
            Role::Process => "jobs:process",
            Role::Chat => "chat:requests",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A text that is not a role's name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a role: manager, inspector, agent, process or chat")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Role::from_name(name).ok_or_else(|| UnknownRole(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_reads_back_from_its_name() {
        for role in Role::ALL {
            assert_eq!(role.name().parse::<Role>(), Ok(role));
            assert_eq!(role.to_string(), role.name());
        }
    }

    #[test]
    fn an_unknown_name_is_an_error() {
        assert_eq!(
            "Manager".parse::<Role>(),
            Err(UnknownRole("Manager".to_owned()))
        );
        assert_eq!(Role::from_name(""), None);
    }
}
