//! The states of an agent, a machine that runs executions (seed 000's BotAgent), and
//! the name of the one every tenant has built in.

use crate::named::named;

/// The name of the agent every tenant has built in: the server's own runner. It is
/// made by the server, and cannot be renamed, deactivated, given a machine key or
/// deleted.
pub const LOCAL_AGENT: &str = "local";

named! {
    /// Whether an agent takes executions (seed 000's `BotAgentStatus`).
    pub enum AgentStatus ("agent status") {
        /// Connected, and ready for executions.
        Available = "Available",
        /// Connected, and running as many as it may.
        Busy = "Busy",
        /// Not connected to the server: a remote agent until it connects, and after it
        /// goes away.
        Disconnected = "Disconnected",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_and_print_back() {
        for status in AgentStatus::ALL {
            assert_eq!(status.as_str().parse::<AgentStatus>(), Ok(*status));
        }
        assert_eq!(
            serde_json::to_string(&AgentStatus::Available).unwrap(),
            "\"Available\""
        );
        assert_eq!(AgentStatus::NAMES, ["Available", "Busy", "Disconnected"]);
        assert!("available".parse::<AgentStatus>().is_err());
        assert!("Error".parse::<AgentStatus>().is_err());
    }
}
