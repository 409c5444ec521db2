//! Bot packages under `/{tenant}/api/packages`, with OpenAutomate's routes and field
//! names: upload a ZIP holding a bot, add versions, list, delete, and hand out
//! download links that expire — to people with a token, and to agents with their
//! machine key.
//!
//! An upload is streamed to a temporary file (hashed and counted as it comes, and cut
//! off past the upload limit), checked from the ZIP's central directory
//! ([`bosun_package::inspect`]: a bot, safe names, within the caps), then streamed
//! into the package storage under a key of its own and recorded. A version is
//! written once: the same name and version again is 409, checked before the bytes
//! are stored and again, atomically, by the store; an upload that loses that race
//! has its object deleted. Nothing is ever replaced.
//!
//! With the embedded storage, links point back at this server
//! (`/packages/blob/…?expires=…&signature=…`, [`blob`]), signed with a secret kept in
//! the storage's directory; with S3 they are presigned and S3 checks them.

use axum::Json;
use axum::body::Body;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bosun_core::package::{PackageName, Version};
use bosun_core::wire::{AgentPackageLink, ErrorBody, Package, PackageLink, Page};
use bosun_core::{Action, Resource};
use bosun_package::{ErrorClass, PackageError};
use bosun_storage::{LinkError, ObjectKey, PackageStorage, StorageError};
use bosun_store::{NewPackageVersion, StoreError};
use chrono::Utc;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::{ApiError, ServerError};
use crate::state::AppState;

use super::seed::same_tenant;

/// The most bytes a form field other than the file may have.
const FIELD_LIMIT: usize = 4096;

/// How much of a package is read or written at a time. Each read and write of a
/// tokio file is a trip to a blocking thread: in pieces this large, a 50 MiB package
/// takes 50 of them rather than thousands.
const IO_CHUNK: usize = 1024 * 1024;

/// `/{tenant}/api/packages/{id}`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub(super) struct PackagePath {
    /// The tenant, by slug (with a token, also by id).
    tenant: String,
    /// The package's id or name.
    id: String,
}

/// `/{tenant}/api/packages/{id}/versions/{version}`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub(super) struct VersionPath {
    /// The tenant, by slug (with a token, also by id).
    tenant: String,
    /// The package's id or name.
    id: String,
    /// The version.
    version: String,
}

/// An upload, spooled: the file on disk and the form's other fields.
struct Upload {
    file: tempfile::NamedTempFile,
    /// The file's name as sent, if any (`web-scraper.zip`).
    file_name: Option<String>,
    size: u64,
    sha256: bosun_storage::Sha256,
    /// The form's `name`, trimmed, possibly empty; `None` when left out.
    name: Option<String>,
    /// The form's `description`, trimmed; `None` when left out or empty.
    description: Option<String>,
    /// The form's `version`, trimmed, possibly empty; `None` when left out.
    version: Option<String>,
}

/// Reads a multipart upload: the `file` streamed to a temporary file in the data
/// directory, the other fields as text. Field names are matched in any case.
async fn read_upload(state: &AppState, mut form: Multipart) -> Result<Upload, ApiError> {
    let limit = state.config.packages.upload_limit;
    let mut spooled = None;
    let (mut name, mut description, mut version) = (None, None, None);
    while let Some(mut field) = form.next_field().await.map_err(bad_form)? {
        let field_name = field.name().unwrap_or_default().to_ascii_lowercase();
        if field_name == "file" {
            let file_name = field.file_name().map(str::to_owned);
            let dir = crate::uploads_dir(&state.config);
            let io = |about| ServerError::io(about, dir.clone());
            tokio::fs::create_dir_all(&dir)
                .await
                .map_err(io("create the upload folder"))?;
            let file = tempfile::NamedTempFile::new_in(&dir).map_err(io("create a file in"))?;
            let mut out = tokio::io::BufWriter::with_capacity(
                IO_CHUNK,
                tokio::fs::File::from_std(file.reopen().map_err(io("open an upload in"))?),
            );
            let (mut size, mut hash) = (0u64, Sha256::new());
            while let Some(chunk) = field.chunk().await.map_err(bad_form)? {
                size += chunk.len() as u64;
                if size > limit {
                    return Err(ApiError::OverLimit(format!(
                        "the upload is over the server's limit of {}: send a smaller package, \
                         or start the server with a larger --package-upload-limit",
                        mib(limit)
                    )));
                }
                hash.update(&chunk);
                out.write_all(&chunk)
                    .await
                    .map_err(io("write an upload in"))?;
            }
            out.flush().await.map_err(io("write an upload in"))?;
            spooled = Some((
                file,
                file_name,
                size,
                bosun_storage::Sha256(hash.finalize().into()),
            ));
        } else {
            let text = small_text(&mut field).await?.trim().to_owned();
            // A name or version sent empty is checked, and refused, as given: taking
            // bot.json's or the default instead would store the upload under a
            // version its sender did not choose. Only a field left out means "none".
            match field_name.as_str() {
                "name" => name = Some(text),
                "description" => description = Some(text).filter(|t| !t.is_empty()),
                "version" => version = Some(text),
                _ => {} // Other clients' extra fields are not ours to refuse.
            }
        }
    }
    let (file, file_name, size, sha256) = spooled.ok_or_else(|| {
        ApiError::BadRequest(
            "no `file` in the form: send the ZIP as the multipart field `file`".to_owned(),
        )
    })?;
    Ok(Upload {
        file,
        file_name,
        size,
        sha256,
        name,
        description,
        version,
    })
}

/// A form field's text, refused past [`FIELD_LIMIT`].
async fn small_text(field: &mut axum::extract::multipart::Field<'_>) -> Result<String, ApiError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(bad_form)? {
        if bytes.len() + chunk.len() > FIELD_LIMIT {
            return Err(ApiError::BadRequest(format!(
                "the form field `{}` is over {FIELD_LIMIT} bytes",
                field.name().unwrap_or_default()
            )));
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes).map_err(|_| {
        ApiError::BadRequest(format!(
            "the form field `{}` is not UTF-8 text",
            field.name().unwrap_or_default()
        ))
    })
}

fn bad_form(e: axum::extract::multipart::MultipartError) -> ApiError {
    match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::OverLimit(e.body_text()),
        _ => ApiError::BadRequest(format!(
            "not a multipart form this server can read ({}): send `multipart/form-data` \
             with the ZIP in the field `file`",
            e.body_text()
        )),
    }
}

fn mib(bytes: u64) -> String {
    format!("{} MiB", bytes.div_ceil(1024 * 1024))
}

/// What the upload's archive holds, checked: its bot and `bot.json`'s metadata.
async fn inspect(state: &AppState, upload: &Upload) -> Result<bosun_package::Manifest, ApiError> {
    let path = upload.file.path().to_path_buf();
    let limits = state.config.packages.limits;
    let inspected = tokio::task::spawn_blocking(move || {
        let file = std::fs::File::open(&path)?;
        Ok::<_, std::io::Error>(bosun_package::inspect(
            std::io::BufReader::new(file),
            &limits,
        ))
    })
    .await
    .map_err(|e| ApiError::Internal(Box::new(e)))?
    .map_err(ServerError::io("read an upload", upload.file.path()))?;
    inspected.map_err(refused)
}

/// The answer to an archive refused.
fn refused(e: PackageError) -> ApiError {
    let message = bosun_core::error::chain(&e).to_string();
    match e.class() {
        ErrorClass::TooLarge => ApiError::OverLimit(message),
        ErrorClass::Exists => ApiError::Conflict(message),
        ErrorClass::Io => ApiError::Internal(Box::new(e)),
        _ => ApiError::BadRequest(message),
    }
}

fn version_of(text: &str) -> Result<Version, ApiError> {
    text.parse()
        .map_err(|e: bosun_core::package::VersionError| ApiError::BadRequest(e.to_string()))
}

/// Stores the upload's bytes under a new key, then records them with `record`; if
/// recording fails (a version that exists, found at the last moment), the bytes go.
async fn store_version<F, Fut>(
    state: &AppState,
    tenant_id: &str,
    upload: Upload,
    version: Version,
    record: F,
) -> Result<bosun_store::Package, ApiError>
where
    F: FnOnce(NewPackageVersion) -> Fut,
    Fut: std::future::Future<Output = Result<Option<bosun_store::Package>, StoreError>>,
{
    let key = ObjectKey::new(format!("{tenant_id}/{}.zip", Uuid::now_v7()))
        .map_err(|e| ApiError::Internal(Box::new(e)))?;
    // The spooled file itself goes into a directory store: its bytes are written once.
    let counted = bosun_storage::Stored {
        size: upload.size,
        sha256: upload.sha256,
    };
    let stored = state
        .packages
        .put_file(&key, upload.file.path(), counted)
        .await
        .map_err(storage_failed)?;
    if stored != counted {
        forget(&state.packages, &key).await;
        return Err(ApiError::Internal(
            "the package storage kept other bytes than were uploaded".into(),
        ));
    }
    let new = NewPackageVersion {
        version,
        size: stored.size,
        sha256: upload.sha256.to_hex(),
        object_key: key.as_str().to_owned(),
    };
    match record(new).await {
        Ok(Some(package)) => Ok(package),
        Ok(None) => {
            forget(&state.packages, &key).await;
            Err(ApiError::NotFound("package"))
        }
        Err(e) => {
            forget(&state.packages, &key).await;
            Err(e.into())
        }
    }
}

/// Deletes the object under `key`, logging (not failing) when it cannot: a leftover
/// object is never listed, and costs only its space.
async fn forget(storage: &PackageStorage, key: &ObjectKey) {
    if let Err(e) = storage.delete(key).await {
        tracing::warn!(key = %key, "could not delete a package's bytes: {}", bosun_core::error::chain(&e));
    }
}

fn storage_failed(e: StorageError) -> ApiError {
    ApiError::Internal(Box::new(e))
}

/// The refusal of a version that exists.
fn version_taken(name: &PackageName, version: &Version) -> ApiError {
    ApiError::Conflict(format!(
        "package {name} already has version {version}: upload it as another version \
         (a version is never replaced; delete it first to upload it again)"
    ))
}

/// Uploads a bot package (packages:create): a ZIP holding a bot (`bot.py` or `main.py`
/// at its top or in its one top-level folder). Name and version come from the form,
/// else from a `bot.json` in the archive, else from the file's name and `1.0.0`. A
/// package of that name in the tenant gets the upload as a new version.
#[utoipa::path(
    post,
    path = "/{tenant}/api/packages/upload",
    operation_id = "packages_upload",
    tag = "packages",
    params(("tenant" = String, Path, description = "the token's tenant, by slug or id")),
    request_body(content_type = "multipart/form-data", description = "`file` (the ZIP), and optional `name`, `description`, `version` (a name or version sent empty is refused: leave it out instead)"),
    responses(
        (status = 201, description = "stored", body = Package),
        (status = 400, description = "not a ZIP, no bot in it, an unsafe entry, a bad name or version", body = ErrorBody),
        (status = 409, description = "the package has that version already", body = ErrorBody),
        (status = 413, description = "over the upload limit, or unpacks past the caps", body = ErrorBody),
    )
)]
pub(super) async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant): Path<String>,
    form: Multipart,
) -> Result<(StatusCode, Json<Package>), ApiError> {
    same_tenant(&caller, &tenant)?;
    caller.require(Resource::Packages, Action::Create)?;
    receive(&state, &caller.tenant.id, form, Destination::Named).await
}

/// Where an upload goes.
enum Destination {
    /// The package the form names, else the archive's `bot.json`, else the file's
    /// name; made if the tenant has none of that name.
    Named,
    /// A package that exists.
    Existing(bosun_store::Package),
}

/// Reads, checks, stores and records an upload as a version of its package.
async fn receive(
    state: &AppState,
    tenant_id: &str,
    form: Multipart,
    to: Destination,
) -> Result<(StatusCode, Json<Package>), ApiError> {
    let upload = read_upload(state, form).await?;
    let manifest = inspect(state, &upload).await?;
    let version = match upload.version.as_deref() {
        Some(version) => version_of(version)?,
        None => manifest.metadata.version.clone().unwrap_or_default(),
    };
    let (name, existing) = match &to {
        Destination::Named => {
            let name: PackageName = match upload.name.as_deref() {
                Some(name) => {
                    name.parse()
                        .map_err(|e: bosun_core::package::PackageNameError| {
                            ApiError::BadRequest(e.to_string())
                        })?
                }
                None => match manifest.metadata.name.clone() {
                    Some(name) => name,
                    None => name_from_file(upload.file_name.as_deref())?,
                },
            };
            let existing = state.store.package(tenant_id, name.as_str()).await?;
            (name, existing)
        }
        Destination::Existing(package) => (package.name.clone(), Some(package.clone())),
    };
    if existing.is_some_and(|p| p.versions.iter().any(|v| v.version == version)) {
        return Err(version_taken(&name, &version));
    }
    let description = upload
        .description
        .clone()
        .or_else(|| manifest.metadata.description.clone());
    let (store, owner) = (state.store.clone(), tenant_id.to_owned());
    let (taken_name, taken_version) = (name.clone(), version.clone());
    let package = store_version(state, tenant_id, upload, version, |new| async move {
        match to {
            Destination::Named => store
                .add_package_version(&owner, &name, description.as_deref(), &new)
                .await
                .map(Some),
            Destination::Existing(package) => {
                store
                    .add_version_to_package(&owner, &package.id, &new)
                    .await
            }
        }
    })
    .await
    .map_err(|e| match e {
        ApiError::Conflict(_) => version_taken(&taken_name, &taken_version),
        e => e,
    })?;
    Ok((StatusCode::CREATED, Json(package.into())))
}

/// A package name from an uploaded file's name: `web-scraper.zip` → `web-scraper`.
fn name_from_file(file_name: Option<&str>) -> Result<PackageName, ApiError> {
    let stem = file_name
        .map(|f| f.rsplit(['/', '\\']).next().unwrap_or(f))
        .map(|f| f.strip_suffix(".zip").unwrap_or(f));
    stem.and_then(|s| s.parse().ok()).ok_or_else(|| {
        ApiError::BadRequest(
            "the package has no name: send the form field `name`, or put one in bot.json"
                .to_owned(),
        )
    })
}

/// Adds a version to a package (packages:create): multipart `file` and `version`.
#[utoipa::path(
    post,
    path = "/{tenant}/api/packages/{id}/versions",
    operation_id = "packages_add_version",
    tag = "packages",
    params(PackagePath),
    request_body(content_type = "multipart/form-data", description = "`file` (the ZIP) and `version` (if left out, bot.json's, else 1.0.0; sent empty, refused)"),
    responses(
        (status = 201, description = "stored", body = Package),
        (status = 400, description = "not a ZIP, no bot in it, an unsafe entry, a bad version", body = ErrorBody),
        (status = 404, description = "no such package", body = ErrorBody),
        (status = 409, description = "the package has that version already", body = ErrorBody),
        (status = 413, description = "over the upload limit, or unpacks past the caps", body = ErrorBody),
    )
)]
pub(super) async fn add_version(
    State(state): State<AppState>,
    caller: Caller,
    Path(PackagePath { tenant, id }): Path<PackagePath>,
    form: Multipart,
) -> Result<(StatusCode, Json<Package>), ApiError> {
    same_tenant(&caller, &tenant)?;
    caller.require(Resource::Packages, Action::Create)?;
    let found = state
        .store
        .package(&caller.tenant.id, &id)
        .await?
        .ok_or(ApiError::NotFound("package"))?;
    receive(
        &state,
        &caller.tenant.id,
        form,
        Destination::Existing(found),
    )
    .await
}

/// The tenant's packages, by name, with their versions (packages:view).
#[utoipa::path(
    get,
    path = "/{tenant}/api/packages",
    operation_id = "packages_list",
    tag = "packages",
    params(("tenant" = String, Path, description = "the token's tenant, by slug or id")),
    responses((status = 200, description = "the packages", body = Page<Package>))
)]
pub(super) async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant): Path<String>,
) -> Result<Json<Page<Package>>, ApiError> {
    same_tenant(&caller, &tenant)?;
    caller.require(Resource::Packages, Action::View)?;
    let packages = state.store.packages(&caller.tenant.id).await?;
    Ok(Json(Page::all(
        packages.into_iter().map(Into::into).collect(),
    )))
}

/// One package, with its versions (packages:view).
#[utoipa::path(
    get,
    path = "/{tenant}/api/packages/{id}",
    operation_id = "packages_get",
    tag = "packages",
    params(PackagePath),
    responses(
        (status = 200, description = "the package", body = Package),
        (status = 404, description = "no such package", body = ErrorBody),
    )
)]
pub(super) async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(PackagePath { tenant, id }): Path<PackagePath>,
) -> Result<Json<Package>, ApiError> {
    same_tenant(&caller, &tenant)?;
    caller.require(Resource::Packages, Action::View)?;
    let found = state
        .store
        .package(&caller.tenant.id, &id)
        .await?
        .ok_or(ApiError::NotFound("package"))?;
    Ok(Json(found.into()))
}

/// Deletes a package with every version (packages:delete).
#[utoipa::path(
    delete,
    path = "/{tenant}/api/packages/{id}",
    operation_id = "packages_delete",
    tag = "packages",
    params(PackagePath),
    responses(
        (status = 204, description = "deleted"),
        (status = 404, description = "no such package", body = ErrorBody),
    )
)]
pub(super) async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(PackagePath { tenant, id }): Path<PackagePath>,
) -> Result<StatusCode, ApiError> {
    same_tenant(&caller, &tenant)?;
    caller.require(Resource::Packages, Action::Delete)?;
    let found = state
        .store
        .package(&caller.tenant.id, &id)
        .await?
        .ok_or(ApiError::NotFound("package"))?;
    let keys = state
        .store
        .delete_package(&caller.tenant.id, &found.id)
        .await?
        .ok_or(ApiError::NotFound("package"))?;
    for key in keys {
        if let Ok(key) = ObjectKey::new(key) {
            forget(&state.packages, &key).await;
        }
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes one version of a package (packages:delete); the package stays.
#[utoipa::path(
    delete,
    path = "/{tenant}/api/packages/{id}/versions/{version}",
    operation_id = "packages_delete_version",
    tag = "packages",
    params(VersionPath),
    responses(
        (status = 204, description = "deleted"),
        (status = 404, description = "no such package or version", body = ErrorBody),
    )
)]
pub(super) async fn delete_version(
    State(state): State<AppState>,
    caller: Caller,
    Path(VersionPath {
        tenant,
        id,
        version,
    }): Path<VersionPath>,
) -> Result<StatusCode, ApiError> {
    same_tenant(&caller, &tenant)?;
    caller.require(Resource::Packages, Action::Delete)?;
    let version = version_of(&version)?;
    let found = state
        .store
        .package(&caller.tenant.id, &id)
        .await?
        .ok_or(ApiError::NotFound("package"))?;
    let key = state
        .store
        .delete_package_version(&caller.tenant.id, &found.id, &version)
        .await?
        .ok_or(ApiError::NotFound("package version"))?;
    if let Ok(key) = ObjectKey::new(key) {
        forget(&state.packages, &key).await;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The package version `id`/`version` of the tenant, and a link to it.
async fn link_to(
    state: &AppState,
    tenant_id: &str,
    id: &str,
    version: &str,
) -> Result<
    (
        bosun_store::Package,
        bosun_store::PackageVersion,
        bosun_storage::Link,
    ),
    ApiError,
> {
    let version = version_of(version)?;
    let found = state
        .store
        .package(tenant_id, id)
        .await?
        .ok_or(ApiError::NotFound("package"))?;
    let stored = found
        .versions
        .iter()
        .find(|v| v.version == version)
        .cloned()
        .ok_or(ApiError::NotFound("package version"))?;
    let key =
        ObjectKey::new(stored.object_key.clone()).map_err(|e| ApiError::Internal(Box::new(e)))?;
    let link = state
        .packages
        .link(&key, state.config.packages.link_lifetime, Utc::now())
        .await
        .map_err(storage_failed)?;
    Ok((found, stored, link))
}

/// A link to download a package version, good for the server's link lifetime (15
/// minutes by default) (packages:view).
#[utoipa::path(
    get,
    path = "/{tenant}/api/packages/{id}/versions/{version}/download",
    operation_id = "packages_download",
    tag = "packages",
    params(VersionPath),
    responses(
        (status = 200, description = "the link", body = PackageLink),
        (status = 404, description = "no such package or version", body = ErrorBody),
    )
)]
pub(super) async fn download(
    State(state): State<AppState>,
    caller: Caller,
    Path(VersionPath {
        tenant,
        id,
        version,
    }): Path<VersionPath>,
) -> Result<Json<PackageLink>, ApiError> {
    same_tenant(&caller, &tenant)?;
    caller.require(Resource::Packages, Action::View)?;
    let (_, stored, link) = link_to(&state, &caller.tenant.id, &id, &version).await?;
    Ok(Json(PackageLink {
        download_url: link.url.to_string(),
        expires_at: Some(link.expires_at),
        sha256: stored.sha256,
    }))
}

/// How an agent names itself: `?machineKey=`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
pub(super) struct MachineKey {
    /// The agent's machine key (also accepted as the header `X-MachineKey`).
    machine_key: Option<String>,
}

/// The machine key a request carries: `?machineKey=`, else the header `X-MachineKey`
/// (or seed 000's `X-Machine-Key`); `None` when it has none.
pub(crate) fn machine_key(query: Option<&str>, headers: &HeaderMap) -> Option<String> {
    query
        .map(str::to_owned)
        .or_else(|| {
            ["x-machinekey", "x-machine-key"]
                .iter()
                .find_map(|h| headers.get(*h)?.to_str().ok().map(str::to_owned))
        })
        .filter(|k| !k.is_empty())
}

/// The machine key of a request, or the refusal of one without.
pub(super) fn machine_key_of(query: MachineKey, headers: &HeaderMap) -> Result<String, ApiError> {
    machine_key(query.machine_key.as_deref(), headers).ok_or(ApiError::BadMachineKey)
}

/// A download link for an agent (seed 000's agent-download): no token, the agent's
/// machine key instead, in `?machineKey=` or the header `X-MachineKey`.
#[utoipa::path(
    get,
    path = "/{tenant}/api/packages/{id}/versions/{version}/agent-download",
    operation_id = "packages_agent_download",
    tag = "packages",
    security(()),
    params(VersionPath, MachineKey),
    responses(
        (status = 200, description = "the link", body = AgentPackageLink),
        (status = 401, description = "no machine key, or not one of the tenant's agents'", body = ErrorBody),
        (status = 404, description = "no such package or version", body = ErrorBody),
    )
)]
pub(super) async fn agent_download(
    State(state): State<AppState>,
    Path(VersionPath {
        tenant,
        id,
        version,
    }): Path<VersionPath>,
    Query(query): Query<MachineKey>,
    headers: HeaderMap,
) -> Result<Json<AgentPackageLink>, ApiError> {
    let key = machine_key_of(query, &headers)?;
    let tenant = state
        .store
        .tenant_by_slug(&tenant)
        .await?
        .ok_or(ApiError::BadMachineKey)?;
    state
        .store
        .agent_by_machine_key(&tenant.id, &key)
        .await?
        .ok_or(ApiError::BadMachineKey)?;
    let (found, stored, link) = link_to(&state, &tenant.id, &id, &version).await?;
    Ok(Json(AgentPackageLink {
        download_url: link.url.to_string(),
        package_id: found.id,
        version: stored.version.to_string(),
        expires_at: Some(link.expires_at),
        sha256: stored.sha256,
    }))
}

/// A signed link's query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub(super) struct Signed {
    /// When the link expires, in seconds since the Unix epoch.
    expires: Option<String>,
    /// The link's signature.
    signature: Option<String>,
}

/// A package's bytes, by a link the server signed (embedded storage only): no token,
/// the signature instead; refused once expired or if any part was changed.
#[utoipa::path(
    get,
    path = "/packages/blob/{tenant}/{file}",
    operation_id = "packages_blob",
    tag = "packages",
    security(()),
    params(
        ("tenant" = String, Path, description = "as the link has it"),
        ("file" = String, Path, description = "as the link has it"),
        Signed,
    ),
    responses(
        (status = 200, description = "the ZIP", content_type = "application/zip"),
        (status = 403, description = "expired, or altered", body = ErrorBody),
        (status = 404, description = "no such package, or the storage is S3", body = ErrorBody),
    )
)]
pub(super) async fn blob(
    State(state): State<AppState>,
    Path((tenant, file)): Path<(String, String)>,
    Query(signed): Query<Signed>,
) -> Result<Response, ApiError> {
    let PackageStorage::Disk(disk) = &*state.packages else {
        return Err(ApiError::NotFound("package"));
    };
    let key =
        ObjectKey::new(format!("{tenant}/{file}")).map_err(|_| ApiError::NotFound("package"))?;
    let (expires, signature) = (
        signed.expires.unwrap_or_default(),
        signed.signature.unwrap_or_default(),
    );
    disk.verify(&key, &expires, &signature, Utc::now())
        .map_err(|e| match e {
            LinkError::Expired { .. } => ApiError::Refused(format!(
                "{}: ask for a new download link",
                bosun_core::error::chain(&e)
            )),
            e => ApiError::Refused(format!(
                "{}: use the download link exactly as it was given",
                bosun_core::error::chain(&e)
            )),
        })?;
    let blob = match state.packages.get(&key).await {
        Ok(blob) => blob,
        Err(StorageError::NotFound { .. }) => return Err(ApiError::NotFound("package")),
        Err(e) => return Err(storage_failed(e)),
    };
    let size = blob.size();
    let body = Body::from_stream(tokio_util::io::ReaderStream::with_capacity(blob, IO_CHUNK));
    Ok((
        [
            (header::CONTENT_TYPE, "application/zip".to_owned()),
            (header::CONTENT_LENGTH, size.to_string()),
        ],
        body,
    )
        .into_response())
}
