//! `GET /api/me`: who the token is. A client learns here the tenant slug that the
//! `/{tenant}/api/...` routes take, and what it may do, before it asks for anything
//! else; so any valid token may call it, with no permission.

use axum::Json;
use bosun_core::wire;

use crate::auth::Caller;

/// The token's tenant and permissions (any token; no permission needed).
#[utoipa::path(
    get,
    path = "/api/me",
    operation_id = "me",
    tag = "access",
    responses(
        (status = 200, description = "the token's tenant and permissions", body = wire::Me),
        (status = 401, description = "no token, or not one the server knows", body = wire::ErrorBody),
    )
)]
pub(super) async fn me(caller: Caller) -> Json<wire::Me> {
    Json(wire::Me {
        tenant: caller.tenant.into(),
        permissions: caller.permissions,
    })
}
