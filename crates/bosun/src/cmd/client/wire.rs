//! The server's replies as the client reads them: [`bosun_core::wire`]'s types, the
//! ones the server answers with, read leniently there (unknown fields ignored, a
//! missing, null or mistyped field read as absent or empty), so a newer server does
//! not break an older client's tables. What is here is only how the tables show an
//! execution.

use super::table::text_or_dash;

pub(crate) use bosun_core::wire::{
    CreatedTenant, ErrorBody, Execution, FileTrigger, Job, MonitorEntry, Page, Schedule, Tenant,
};

/// How the tables show an execution.
pub(crate) trait Shown {
    /// The id, or a dash.
    fn id(&self) -> &str;
    /// The job's name, or a dash.
    fn job(&self) -> &str;
    /// The status's name, or a dash.
    fn status_text(&self) -> &str;
    /// The progress as a number for [`super::human::percent`].
    fn percent(&self) -> Option<f64>;
}

impl Shown for Execution {
    fn id(&self) -> &str {
        text_or_dash(&self.id)
    }

    fn job(&self) -> &str {
        text_or_dash(&self.job_name)
    }

    fn status_text(&self) -> &str {
        self.status.map_or("-", |s| s.as_str())
    }

    fn percent(&self) -> Option<f64> {
        self.progress.map(|p| p as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_fields_show_as_dashes() {
        let empty: Execution = serde_json::from_str("{}").unwrap();
        assert_eq!(empty.id(), "-");
        assert_eq!(empty.job(), "-");
        assert_eq!(empty.status_text(), "-");
        let json = r#"{"id": 7, "status": "running", "progress": 40}"#;
        let execution: Execution = serde_json::from_str(json).unwrap();
        assert_eq!(execution.id(), "7");
        assert_eq!(execution.status_text(), "Running");
        assert_eq!(execution.percent(), Some(40.0));
    }
}
