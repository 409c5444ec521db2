//! The states of an agent, a machine that runs executions (seed 000's BotAgent).

use crate::named::named;

named! {
    /// Whether an agent takes executions (seed 000's `BotAgentStatus`).
    pub enum AgentStatus ("agent status") {
        /// Ready for executions.
        Available = "Available",
        /// Running as many as it may.
        Busy = "Busy",
        /// Out of order.
        Error = "Error",
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
        assert!("available".parse::<AgentStatus>().is_err());
    }
}
