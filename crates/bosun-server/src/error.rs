//! The server's errors: [`ServerError`], why it could not start or serve, and the API's
//! one error type, [`ApiError`]: each variant a status, the body `{"code", "message"}`.
//! Internal details are logged once here and never reach the client.

use std::net::SocketAddr;
use std::path::PathBuf;

use axum::Json;
use axum::extract::rejection::{BytesRejection, JsonRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bosun_core::error::chain;
use bosun_store::StoreError;

use crate::home_lock::HomeInUse;

/// Why the server could not start, or stopped serving: each variant says what it was
/// doing, the source why.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// Another server holds the data directory.
    #[error(transparent)]
    HomeInUse(#[from] HomeInUse),
    /// A file or directory the server keeps could not be used.
    #[error("could not {about} {}", path.display())]
    Io {
        /// What the server was doing, phrased to follow "could not", e.g. "create the
        /// data directory".
        about: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The API's address could not be listened on.
    #[error(
        "listening on {addr}: is another server running there? pick another address with --listen"
    )]
    Listen {
        /// The address asked for.
        addr: SocketAddr,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The store failed; its error says what it was doing.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The example job could not be defined.
    #[error("could not create the example job")]
    ExampleJob(#[source] StoreError),
    /// Serving HTTP failed.
    #[error("could not serve HTTP")]
    Serve(#[source] std::io::Error),
    /// The runner's task ended abnormally.
    #[error("the runner failed")]
    Runner(#[source] tokio::task::JoinError),
    /// A schedule, as stored, does not parse.
    #[error("schedule {id} cannot be read back: {problem}")]
    Schedule {
        /// The schedule's id.
        id: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The package storage could not be opened.
    #[error("could not open the package storage")]
    Packages(#[source] bosun_storage::StorageError),
    /// The package bucket did not answer, or refused the server's keys.
    #[error(
        "the package bucket {bucket:?} cannot be reached: check --s3-endpoint, --s3-region and the AWS_* keys"
    )]
    BucketUnreachable {
        /// The bucket.
        bucket: String,
        /// What the store answered, or that it did not in time.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The address download links would start with is not a URL.
    #[error("{0:?} is not a URL to start download links with: give --public-url http://HOST:PORT")]
    PublicUrl(String),
    /// A server error was answered outside the handlers (by axum or a layer).
    #[error("answered {status} outside the handlers: {text}")]
    Outside {
        /// The status answered.
        status: StatusCode,
        /// The answer's text, if any.
        text: String,
    },
}

impl ServerError {
    /// A [`ServerError::Io`] maker for `map_err`.
    pub(crate) fn io(
        about: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io {
            about,
            path,
            source,
        }
    }
}

/// An error answered to an API client.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No token, or one the server does not know.
    #[error(
        "missing or unknown API token: send `Authorization: Bearer <token>` (the admin token is printed by the first `bosun up`)"
    )]
    Unauthorized,
    /// No machine key, or one no agent of the tenant has.
    #[error(
        "missing or unknown machine key: send `?machineKey=` or the header `X-MachineKey` with the key the agent was given"
    )]
    BadMachineKey,
    /// The token lacks the permission.
    #[error("this token lacks the permission {0}")]
    Forbidden(String),
    /// No such object in the caller's tenant.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// Something the request leads to is not there, a 404 like [`ApiError::NotFound`]
    /// whose message says what and why (an execution's job, deleted since).
    #[error("{0}")]
    NotFoundBecause(String),
    /// The request is malformed; the message says how to fix it.
    #[error("{0}")]
    BadRequest(String),
    /// The request conflicts with the current state.
    #[error("{0}")]
    Conflict(String),
    /// The route exists, but not with this method; the message lists the methods it has.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// The body is not declared as JSON.
    #[error("send the body as JSON, with the header `Content-Type: application/json`")]
    UnsupportedMediaType,
    /// The body is over the server's limit.
    #[error("request body too large: send less than the server's body limit (1 MiB by default)")]
    TooLarge,
    /// Something is over a limit other than the body limit; the message names it.
    #[error("{0}")]
    OverLimit(String),
    /// Refused for a reason other than a token's permissions (an expired or altered
    /// download link); the message says what to do.
    #[error("{0}")]
    Refused(String),
    /// Something failed inside the server; the source is what, for the log only.
    #[error("internal error; the server's log has the details")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::Unauthorized | Self::BadMachineKey => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            Self::NotFound(_) | Self::NotFoundBecause(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            Self::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            Self::MethodNotAllowed(_) => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            Self::UnsupportedMediaType => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            Self::TooLarge | Self::OverLimit(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            Self::Refused(_) => (StatusCode::FORBIDDEN, "forbidden"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if let Self::Internal(e) = &self {
            tracing::error!("request failed: {}", chain(e.as_ref()));
        }
        respond(status, code, self.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict { .. } => Self::Conflict(e.to_string()),
            StoreError::Corrupt {
                what: "page cursor",
                ..
            } => Self::BadRequest(format!("bad `before` cursor: {e}")),
            e => Self::Internal(Box::new(e)),
        }
    }
}

impl From<ServerError> for ApiError {
    fn from(e: ServerError) -> Self {
        Self::Internal(Box::new(e))
    }
}

impl From<crate::access::AccessError> for ApiError {
    fn from(e: crate::access::AccessError) -> Self {
        use crate::access::AccessError;
        match e {
            AccessError::Invalid(m) => Self::BadRequest(m),
            AccessError::Forbidden(m) => Self::Forbidden(m),
            AccessError::NotFound(_) => Self::NotFound("token"),
            AccessError::Refused(m) => Self::Conflict(m),
            AccessError::Store(e) => e.into(),
        }
    }
}

/// Gives an error answer made outside the handlers — axum's own 405 (no body), a
/// path it could not read (plain text), a body over the limit — the API's
/// `{"code", "message"}` body, keeping its status. Answers already in JSON, and
/// successes, pass unchanged.
pub(crate) async fn json_errors(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    // "GET,HEAD,POST" as "GET, POST": HEAD comes with every GET.
    let allow = response
        .headers()
        .get(axum::http::header::ALLOW)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|m| !m.is_empty() && *m != "HEAD")
                .collect::<Vec<_>>()
                .join(", ")
        });
    // These answers are short texts; anything longer is cut, not read whole.
    let text = axum::body::to_bytes(response.into_body(), 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let error = match status {
        StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed(match allow {
            Some(allow) if !allow.is_empty() => {
                format!("{path} does not take {method}: use {allow}")
            }
            _ => format!("{path} does not take {method}"),
        }),
        StatusCode::NOT_FOUND => ApiError::NotFound("route"),
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType,
        StatusCode::UNAUTHORIZED => ApiError::Unauthorized,
        StatusCode::BAD_REQUEST if !text.is_empty() => ApiError::BadRequest(text),
        s if s.is_client_error() => {
            let code = s
                .canonical_reason()
                .unwrap_or("client error")
                .to_ascii_lowercase()
                .replace([' ', '-'], "_");
            let message = if text.is_empty() {
                format!("the request was refused ({s})")
            } else {
                text
            };
            return respond(s, &code, message);
        }
        status => ServerError::Outside { status, text }.into(),
    };
    error.into_response()
}

/// An error answer: `status` and the body `{"code", "message"}`.
fn respond(status: StatusCode, code: &str, message: String) -> Response {
    let body = bosun_core::wire::ErrorBody {
        code: code.to_owned(),
        message,
    };
    (status, Json(body)).into_response()
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => Self::TooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => Self::UnsupportedMediaType,
            _ => Self::BadRequest(format!("invalid JSON body: {}", rejection.body_text())),
        }
    }
}

impl From<BytesRejection> for ApiError {
    fn from(rejection: BytesRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return Self::TooLarge;
        }
        Self::BadRequest(format!(
            "could not read the body: {}",
            rejection.body_text()
        ))
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::BadRequest(format!("invalid query: {}", rejection.body_text()))
    }
}

/// `Json` whose rejections answer in the API's error format.
#[derive(Debug, axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub(crate) struct ApiJson<T>(pub(crate) T);

/// `Query` whose rejections answer in the API's error format.
#[derive(Debug, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub(crate) struct ApiQuery<T>(pub(crate) T);

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_internal_error_answers_without_its_cause_which_the_chain_keeps() {
        let cause = std::io::Error::other("disk on fire");
        let error = ApiError::from(ServerError::io("read the log", "/logs/output.log")(cause));
        assert_eq!(
            chain(&error).to_string(),
            "internal error; the server's log has the details: could not read the log \
             /logs/output.log: disk on fire"
        );
        let response = error.into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "code": "internal",
                "message": "internal error; the server's log has the details",
            })
        );
    }
}
