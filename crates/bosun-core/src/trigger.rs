//! What started an execution.

use crate::named::named;

named! {
    /// What started an execution: the API, a schedule, a file trigger, or seed 000's
    /// trigger route.
    pub enum TriggerKind ("trigger kind") {
        /// `POST /api/jobs/{job}/run` (and `bosun run` through the server).
        Api = "api",
        /// A schedule came due.
        Schedule = "schedule",
        /// A file trigger saw a file arrive.
        File = "file",
        /// Seed 000's `POST /{tenant}/api/executions/trigger`.
        Seed = "seed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_read_and_print_back() {
        for kind in TriggerKind::ALL {
            assert_eq!(kind.as_str().parse::<TriggerKind>(), Ok(*kind));
            let json = serde_json::to_string(kind).unwrap();
            assert_eq!(json, format!("\"{kind}\""));
            assert_eq!(serde_json::from_str::<TriggerKind>(&json).unwrap(), *kind);
        }
        assert_eq!(TriggerKind::from_name(" File "), Ok(TriggerKind::File));
        assert!(
            "File".parse::<TriggerKind>().is_err(),
            "the stored form is exact"
        );
        let e = "cron".parse::<TriggerKind>().unwrap_err().to_string();
        assert_eq!(
            e,
            "unknown trigger kind \"cron\": use one of api, schedule, file, seed"
        );
    }
}
