//! The rows as the API shows them: each row converts into its wire type
//! ([`bosun_core::wire`]), so what the store keeps and what the API answers can
//! change apart.

use bosun_core::wire;

use crate::model::{Agent, Execution, ExecutionEvent, Job, Package, PackageVersion, Tenant, Token};

impl From<Tenant> for wire::Tenant {
    fn from(row: Tenant) -> Self {
        Self {
            id: row.id,
            slug: row.slug,
            name: row.name,
            created_at: Some(row.created_at),
        }
    }
}

impl From<Token> for wire::Token {
    fn from(row: Token) -> Self {
        Self {
            id: row.id,
            tenant_id: row.tenant_id,
            name: row.name,
            permissions: row.permissions,
            created_at: Some(row.created_at),
        }
    }
}

impl From<Package> for wire::Package {
    fn from(row: Package) -> Self {
        Self {
            id: row.id,
            name: row.name.to_string(),
            description: row.description,
            created_at: Some(row.created_at),
            updated_at: Some(row.updated_at),
            versions: row.versions.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<PackageVersion> for wire::PackageVersion {
    fn from(row: PackageVersion) -> Self {
        Self {
            version: row.version.to_string(),
            size: row.size,
            sha256: row.sha256,
            uploaded_at: Some(row.uploaded_at),
        }
    }
}

impl From<Agent> for wire::Agent {
    fn from(row: Agent) -> Self {
        Self {
            id: row.id,
            tenant_id: row.tenant_id,
            name: row.name,
            machine_name: row.machine_name,
            status: Some(row.status),
            last_heartbeat: row.last_heartbeat,
            last_connected: row.last_connected,
            is_active: row.active,
            created_at: Some(row.created_at),
        }
    }
}

/// The job without its `kind`, which is the server's to tell from the definition.
impl From<Job> for wire::Job {
    fn from(row: Job) -> Self {
        Self {
            id: row.id,
            tenant_id: row.tenant_id,
            name: row.name,
            definition: row.definition,
            created_at: Some(row.created_at),
            updated_at: Some(row.updated_at),
            kind: String::new(),
        }
    }
}

impl From<Execution> for wire::Execution {
    fn from(row: Execution) -> Self {
        Self {
            status: Some(row.status),
            id: row.id,
            tenant_id: row.tenant_id,
            job_id: row.job_id,
            job_name: row.job_name,
            trigger: Some(row.trigger),
            trigger_detail: row.trigger_detail,
            arguments: row.arguments,
            runner: row.runner,
            pid: row.pid,
            exit_code: row.exit_code,
            message: row.message,
            status_message: row.status_message,
            progress: row.progress,
            cancel_requested: row.cancel_requested,
            created_at: Some(row.created_at),
            start_time: row.start_time,
            end_time: row.end_time,
            last_update: Some(row.last_update),
            output_log: row.output_log,
            error_log: row.error_log,
            agent_id: row.agent_id,
            package_version: row.package_version,
        }
    }
}

impl From<ExecutionEvent> for wire::ExecutionEvent {
    fn from(row: ExecutionEvent) -> Self {
        Self {
            at: Some(row.at),
            status: Some(row.status),
            message: row.message,
        }
    }
}

impl<T, U: From<T>> From<crate::Page<T>> for wire::Page<U> {
    fn from(page: crate::Page<T>) -> Self {
        Self {
            items: page.items.into_iter().map(U::from).collect(),
            next: page.next,
        }
    }
}
