//! Seed 000's `POST /{tenant}/api/executions/{id}/logs`: an agent sends the whole log
//! of a run it was sent, as the multipart field `logFile`, with its machine key in
//! `X-Machine-Key`. OpenAutomate's agents upload the log this way when a run ends;
//! bosun's own agent streams it live over the hub instead, and this route replaces
//! what arrived live with the file, so the log kept is the agent's full one.
//!
//! The file is written beside the log and renamed over it once complete, so a
//! follower or a reader sees the old log or the new one, never half of one; a file
//! over the server's log cap is refused, and the old log stays.

use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use bosun_core::wire::ErrorBody;
use tokio::io::AsyncWriteExt as _;

use super::packages::{MachineKey, machine_key_of};
use crate::error::{ApiError, ServerError};
use crate::state::AppState;

/// Upload an execution's whole log, as its agent (machine key, no token).
#[utoipa::path(
    post,
    path = "/{tenant}/api/executions/{id}/logs",
    operation_id = "seed_upload_log",
    tag = "seed",
    security(()),
    params(
        ("tenant" = String, Path, description = "the agent's tenant, by slug"),
        ("id" = String, Path),
        MachineKey,
    ),
    request_body(content_type = "multipart/form-data", description = "the log in the field `logFile`"),
    responses(
        (status = 204, description = "kept as the execution's log"),
        (status = 400, description = "no `logFile` field", body = ErrorBody),
        (status = 401, description = "a missing or unknown machine key", body = ErrorBody),
        (status = 404, description = "no such execution sent to this agent", body = ErrorBody),
        (status = 413, description = "over the server's log cap", body = ErrorBody),
    )
)]
pub(super) async fn upload(
    State(state): State<AppState>,
    Path((tenant, id)): Path<(String, String)>,
    Query(query): Query<MachineKey>,
    headers: HeaderMap,
    mut form: Multipart,
) -> Result<StatusCode, ApiError> {
    let key = machine_key_of(query, &headers)?;
    let tenant = state
        .store
        .tenant_by_slug(&tenant)
        .await?
        .ok_or(ApiError::BadMachineKey)?;
    let agent = state
        .store
        .agent_by_machine_key(&tenant.id, &key)
        .await?
        .ok_or(ApiError::BadMachineKey)?;
    let execution = state
        .store
        .execution(&tenant.id, &id)
        .await?
        .filter(|e| e.agent_id.as_deref() == Some(agent.id.as_str()))
        .ok_or(ApiError::NotFound("execution sent to this agent"))?;

    let dir = bosun_exec::Home::new(&state.config.home)
        .logs()
        .join(&execution.id);
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(ServerError::io("make the log folder", &dir))?;
    let limit = state.config.log_limit;
    while let Some(mut field) = form.next_field().await.map_err(bad_form)? {
        if field.name() != Some("logFile") {
            continue;
        }
        let spool = tempfile::Builder::new()
            .prefix(".upload-")
            .tempfile_in(&dir)
            .map_err(ServerError::io("spool a log upload", &dir))?;
        let written = ServerError::io("spool a log upload", spool.path());
        let mut file = tokio::fs::File::from_std(spool.reopen().map_err(written)?);
        let mut size = 0u64;
        while let Some(chunk) = field.chunk().await.map_err(bad_form)? {
            size += chunk.len() as u64;
            if size > limit {
                return Err(ApiError::OverLimit(format!(
                    "the log is over the server's log cap of {limit} bytes: send its tail, \
                     or raise --max-log-size"
                )));
            }
            file.write_all(&chunk)
                .await
                .map_err(ServerError::io("spool a log upload", spool.path()))?;
        }
        file.sync_all()
            .await
            .map_err(ServerError::io("spool a log upload", spool.path()))?;
        let log = dir.join("output.log");
        spool
            .persist(&log)
            .map_err(|e| ServerError::io("keep an uploaded log", &log)(e.error))?;
        state
            .store
            .set_output_log(&execution.id, &log.to_string_lossy())
            .await?;
        return Ok(StatusCode::NO_CONTENT);
    }
    Err(ApiError::BadRequest(
        "no log in the form: send `multipart/form-data` with the log in the field `logFile`"
            .to_owned(),
    ))
}

fn bad_form(e: axum::extract::multipart::MultipartError) -> ApiError {
    match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::OverLimit(e.body_text()),
        _ => ApiError::BadRequest(format!(
            "not a multipart form this server can read ({}): send `multipart/form-data` \
             with the log in the field `logFile`",
            e.body_text()
        )),
    }
}
