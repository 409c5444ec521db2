//! The API's handlers called in-process (`router(state).oneshot(request)`), on SQLite
//! and PostgreSQL: errors in the one `{"code", "message"}` shape, the token and tenant
//! rules, and what a definition may not contain.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use bosun_store::Store;
use bosun_test_utils::{POSTGRES_HELP, database_urls, drop_test_database};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::config::ServerConfig;
use crate::runner::RunnerHandle;
use crate::state::AppState;

/// The API over a fresh store, with the default tenant's admin token.
struct Api {
    app: Router,
    admin: String,
    store: Store,
    home: std::path::PathBuf,
}

impl Api {
    async fn new(home: &std::path::Path, url: &str) -> Self {
        let store = match Store::open(url).await {
            Ok(store) => store,
            Err(e) if url.starts_with("postgres") => {
                panic!("{}\n{POSTGRES_HELP}", bosun_core::error::chain(&e))
            }
            Err(e) => panic!("{}", bosun_core::error::chain(&e)),
        };
        let tenant = store
            .ensure_tenant(crate::DEFAULT_TENANT, "Default")
            .await
            .unwrap();
        let (_, admin) = store
            .create_token(&tenant.id, "admin", &[bosun_core::Permission::All])
            .await
            .unwrap();
        let config = Arc::new(ServerConfig::new(home));
        let packages = crate::open_packages(&config, "http://127.0.0.1:8420")
            .await
            .unwrap();
        let state = AppState {
            fleet: crate::fleet::Fleet::new(store.clone(), config.clone(), RunnerHandle::default()),
            hub: Arc::new(bosun_hub::negotiate::Negotiations::new(
                std::time::Duration::from_secs(30),
            )),
            store: store.clone(),
            runner: RunnerHandle::default(),
            config,
            schedules_changed: Arc::default(),
            triggers_changed: Arc::default(),
            trigger_health: crate::watcher::Health::default(),
            tokens: Arc::default(),
            known_jobs: Arc::default(),
            packages: Arc::new(packages),
        };
        Self {
            app: super::router(state),
            admin,
            store,
            home: home.to_path_buf(),
        }
    }

    /// Sends a request; returns the status and the body as JSON (`Null` when empty,
    /// a string when it is not JSON).
    async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {token}"));
        let body = match body {
            Some(body) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from(body.to_string())
            }
            None => Body::empty(),
        };
        self.send(request.body(body).unwrap()).await
    }

    async fn send(&self, request: Request<Body>) -> (StatusCode, Value) {
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::from(String::from_utf8_lossy(&bytes).into_owned()))
        };
        (status, body)
    }

    async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, token, Some(body)).await
    }

    /// Mints a token of the default tenant with `permissions`; its secret and id.
    async fn token(&self, permissions: &[&str]) -> (String, String) {
        let (status, body) = self
            .post(
                "/api/tokens",
                &self.admin,
                json!({"name": "t", "permissions": permissions}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        (
            body["token"].as_str().unwrap().to_owned(),
            body["id"].as_str().unwrap().to_owned(),
        )
    }

    /// The admin token's id.
    async fn admin_id(&self) -> String {
        let (_, list) = self
            .call(Method::GET, "/api/tokens", &self.admin, None)
            .await;
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == "admin")
            .expect("the admin token is listed")["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

/// Runs `check` against a fresh API on each engine.
async fn on_each_engine<F, Fut>(check: F)
where
    F: Fn(Api) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    for (engine, url) in database_urls(dir.path()) {
        eprintln!("engine: {engine}");
        let home = dir.path().join(engine);
        std::fs::create_dir_all(&home).unwrap();
        let api = Api::new(&home, &url).await;
        let store = api.store.clone();
        check(api).await;
        store.close().await;
        drop_test_database(&url).await;
    }
}

/// Asserts the error shape: the status, `code`, and a message containing `says`.
#[track_caller]
fn assert_error(answer: &(StatusCode, Value), status: StatusCode, code: &str, says: &str) {
    let (got, body) = answer;
    assert_eq!(*got, status, "{body}");
    assert_eq!(body["code"], code, "{body}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(message.contains(says), "{message:?} lacks {says:?}");
}

#[tokio::test]
async fn a_wrong_method_answers_405_with_the_json_error_not_an_empty_body() {
    on_each_engine(|api| async move {
        let answer = api
            .call(Method::DELETE, "/api/jobs", &api.admin, None)
            .await;
        assert_error(
            &answer,
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "GET, POST",
        );
        let answer = api
            .call(Method::PUT, "/api/tokens", &api.admin, Some(json!({})))
            .await;
        assert_eq!(answer.0, StatusCode::METHOD_NOT_ALLOWED, "{}", answer.1);
        assert_eq!(answer.1["code"], "method_not_allowed");
    })
    .await;
}

#[tokio::test]
async fn rejections_outside_the_handlers_answer_with_the_json_error() {
    on_each_engine(|api| async move {
        let answer = api
            .call(Method::GET, "/api/nothing", &api.admin, None)
            .await;
        assert_error(&answer, StatusCode::NOT_FOUND, "not_found", "route");
        // A body that is not declared JSON.
        let request = Request::post("/api/jobs")
            .header(header::AUTHORIZATION, format!("Bearer {}", api.admin))
            .body(Body::from(r#"{"name": "x"}"#))
            .unwrap();
        let answer = api.send(request).await;
        assert_error(
            &answer,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Content-Type: application/json",
        );
        // A path parameter that is not UTF-8.
        let answer = api
            .call(Method::GET, "/api/jobs/%FF", &api.admin, None)
            .await;
        assert_eq!(answer.0, StatusCode::BAD_REQUEST, "{}", answer.1);
        assert_eq!(answer.1["code"], "bad_request", "{}", answer.1);
    })
    .await;
}

#[tokio::test]
async fn a_token_with_only_tokens_delete_cannot_delete_the_admin_token() {
    on_each_engine(|api| async move {
        let (deleter, _) = api.token(&["tokens:delete", "tokens:view"]).await;
        let admin_id = api.admin_id().await;
        let answer = api
            .call(
                Method::DELETE,
                &format!("/api/tokens/{admin_id}"),
                &deleter,
                None,
            )
            .await;
        assert_error(
            &answer,
            StatusCode::FORBIDDEN,
            "forbidden",
            "a token cannot delete one with permissions it lacks",
        );
        let (status, _) = api.call(Method::GET, "/api/jobs", &api.admin, None).await;
        assert_eq!(status, StatusCode::OK, "the admin token was deleted");
        // One it covers, it may delete.
        let (_, viewer_id) = api.token(&["tokens:view"]).await;
        let (status, body) = api
            .call(
                Method::DELETE,
                &format!("/api/tokens/{viewer_id}"),
                &deleter,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    })
    .await;
}

#[tokio::test]
async fn the_last_admin_token_of_a_tenant_cannot_be_deleted() {
    on_each_engine(|api| async move {
        let admin_id = api.admin_id().await;
        let answer = api
            .call(
                Method::DELETE,
                &format!("/api/tokens/{admin_id}"),
                &api.admin,
                None,
            )
            .await;
        assert_error(
            &answer,
            StatusCode::CONFLICT,
            "conflict",
            "bosun admin token create",
        );
        // With a second one, either may go.
        let (second, _) = api.token(&["*"]).await;
        let (status, body) = api
            .call(
                Method::DELETE,
                &format!("/api/tokens/{admin_id}"),
                &second,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    })
    .await;
}

#[tokio::test]
async fn a_token_needs_a_permission_and_a_bounded_name() {
    on_each_engine(|api| async move {
        let answer = api
            .post(
                "/api/tokens",
                &api.admin,
                json!({"name": "empty", "permissions": []}),
            )
            .await;
        assert_error(
            &answer,
            StatusCode::BAD_REQUEST,
            "bad_request",
            "at least one permission",
        );
        let answer = api
            .post(
                "/api/tokens",
                &api.admin,
                json!({"name": "n".repeat(201), "permissions": ["jobs:view"]}),
            )
            .await;
        assert_error(
            &answer,
            StatusCode::BAD_REQUEST,
            "bad_request",
            "200 characters",
        );
        // A token cannot mint one it could not delete.
        let (minter, _) = api.token(&["tokens:create", "jobs:view"]).await;
        let answer = api
            .post(
                "/api/tokens",
                &minter,
                json!({"name": "more", "permissions": ["jobs:*"]}),
            )
            .await;
        assert_eq!(answer.0, StatusCode::FORBIDDEN, "{}", answer.1);
    })
    .await;
}

#[tokio::test]
async fn an_unknown_job_field_is_refused_with_a_suggestion_instead_of_ignored() {
    on_each_engine(|api| async move {
        let answer = api
            .post(
                "/api/jobs",
                &api.admin,
                json!({"name": "slow", "process": {"command": "sleep", "timeoutSecs": 5}}),
            )
            .await;
        assert_error(
            &answer,
            StatusCode::BAD_REQUEST,
            "bad_request",
            r#"unknown field "timeoutSecs" in process; did you mean "timeoutSeconds"?"#,
        );
        let answer = api
            .post(
                "/api/jobs",
                &api.admin,
                json!({"name": "b", "bot": {"path": "/b"}, "duplicatPolicy": "queue"}),
            )
            .await;
        assert_error(
            &answer,
            StatusCode::BAD_REQUEST,
            "bad_request",
            r#"did you mean "duplicatePolicy"?"#,
        );
        let answer = api
            .post(
                "/api/jobs",
                &api.admin,
                json!({"name": "b", "bot": {"path": "/b", "args": ["x"]}}),
            )
            .await;
        assert_error(
            &answer,
            StatusCode::BAD_REQUEST,
            "bad_request",
            r#"unknown field "args" in bot"#,
        );
        // Seed 002's own fields, in its own case, still pass.
        let (status, body) = api
            .post(
                "/api/jobs",
                &api.admin,
                json!({"Name": "seed", "Process": {"Command": "true", "Arguments": "",
                       "WorkingDirectory": "/", "TimeoutMinutes": 1,
                       "Environment": {"A": "1"}, "Limits": {"MemoryMb": 64}}}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    })
    .await;
}

#[tokio::test]
async fn names_that_mislead_or_escape_are_refused_everywhere() {
    on_each_engine(|api| async move {
        let (_, some_id) = api.token(&["jobs:view"]).await;
        for (name, says) in [
            ("..", "\"..\""),
            ("a..b", "\"..\""),
            ("nul\0byte", "control"),
            ("tab\there", "control"),
            ("evil\u{202E}txt.exe", "bidirectional"),
            ("iso\u{2066}late", "bidirectional"),
            (some_id.as_str(), "id"),
            ("", "empty"),
            ("   ", "empty"),
        ] {
            let job = json!({"name": name, "process": {"command": "true"}});
            let answer = api.post("/api/jobs", &api.admin, job).await;
            assert_error(&answer, StatusCode::BAD_REQUEST, "bad_request", says);
            let token = json!({"name": name, "permissions": ["jobs:view"]});
            let answer = api.post("/api/tokens", &api.admin, token).await;
            assert_error(&answer, StatusCode::BAD_REQUEST, "bad_request", says);
        }
        let long = "x".repeat(201);
        let answer = api
            .post(
                "/api/jobs",
                &api.admin,
                json!({"name": long, "process": {"command": "true"}}),
            )
            .await;
        assert_error(
            &answer,
            StatusCode::BAD_REQUEST,
            "bad_request",
            "200 characters",
        );
        let fine = "x".repeat(200);
        let (status, body) = api
            .post(
                "/api/jobs",
                &api.admin,
                json!({"name": fine, "process": {"command": "true"}}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    })
    .await;
}

#[tokio::test]
async fn an_empty_glob_is_refused() {
    on_each_engine(|api| async move {
        let (status, body) = api
            .post(
                "/api/jobs",
                &api.admin,
                json!({"name": "ingest", "process": {"command": "true"}}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let dir = api.home.display().to_string();
        for glob in ["", "  "] {
            let answer = api
                .post(
                    "/api/jobs/ingest/triggers",
                    &api.admin,
                    json!({"directory": dir, "glob": glob}),
                )
                .await;
            assert_error(&answer, StatusCode::BAD_REQUEST, "bad_request", "glob");
        }
    })
    .await;
}

#[tokio::test]
async fn tenants_are_created_once_by_the_server_s_own_admins() {
    on_each_engine(|api| async move {
        let (status, made) = api
            .post(
                "/api/tenants",
                &api.admin,
                json!({"slug": "acme", "name": "Acme Inc."}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{made}");
        assert_eq!(made["tenant"]["slug"], "acme");
        assert_eq!(made["token"]["permissions"], json!(["*"]));
        let acme = made["token"]["token"].as_str().unwrap().to_owned();
        // The new tenant's token works there, and sees none of the default's jobs.
        let (status, jobs) = api.call(Method::GET, "/api/jobs", &acme, None).await;
        assert_eq!((status, &jobs["items"]), (StatusCode::OK, &json!([])));

        let again = api
            .post("/api/tenants", &api.admin, json!({"slug": "acme"}))
            .await;
        assert_error(&again, StatusCode::CONFLICT, "conflict", "acme");
        for slug in ["Acme", "a b", "-x", "x/y", "", "api"] {
            let answer = api
                .post("/api/tenants", &api.admin, json!({"slug": slug}))
                .await;
            assert_error(&answer, StatusCode::BAD_REQUEST, "bad_request", "slug");
        }
        // Another tenant's admin may not make tenants, nor may a token without the
        // permission.
        let answer = api
            .post("/api/tenants", &acme, json!({"slug": "beta"}))
            .await;
        assert_error(&answer, StatusCode::FORBIDDEN, "forbidden", "tenants");
        let (viewer, _) = api.token(&["jobs:view"]).await;
        let answer = api
            .post("/api/tenants", &viewer, json!({"slug": "beta"}))
            .await;
        assert_error(
            &answer,
            StatusCode::FORBIDDEN,
            "forbidden",
            "tenants:create",
        );

        let (status, list) = api
            .call(Method::GET, "/api/tenants", &api.admin, None)
            .await;
        assert_eq!(status, StatusCode::OK, "{list}");
        let slugs: Vec<&str> = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["slug"].as_str().unwrap())
            .collect();
        assert_eq!(slugs, ["acme", "default"]);
    })
    .await;
}

/// Every route the document lists asks for a token, but the few it marks public
/// (`security(())`): liveness, the document itself, the package downloads that a
/// machine key or a link's signature authorizes instead, and an agent's log upload
/// (its machine key). A handler that forgot its
/// caller would answer without one.
#[tokio::test]
async fn every_route_but_the_public_ones_refuses_a_request_without_a_token() {
    const PUBLIC: [&str; 5] = [
        "/healthz",
        "/api/openapi.json",
        // An agent's, with its machine key instead of a token.
        "/{tenant}/api/packages/{id}/versions/{version}/agent-download",
        "/{tenant}/api/executions/{id}/logs",
        "/packages/blob/{tenant}/{file}",
    ];
    on_each_engine(|api| async move {
        let document = super::document();
        let mut public = Vec::new();
        for (path, item) in &document.paths.paths {
            let uri = path
                .replace("{tenant}", crate::DEFAULT_TENANT)
                .replace("{job}", "no-such-job")
                .replace("{id}", "no-such-id")
                .replace("{version}", "1.0.0")
                .replace("{file}", "no-such-file");
            let methods = [
                (Method::GET, &item.get),
                (Method::POST, &item.post),
                (Method::PUT, &item.put),
                (Method::DELETE, &item.delete),
                (Method::PATCH, &item.patch),
            ];
            for (method, operation) in methods {
                let Some(operation) = operation else { continue };
                let open = operation
                    .security
                    .as_ref()
                    .is_some_and(|s| s.iter().all(|r| *r == Default::default()));
                if open {
                    public.push(path.as_str());
                    continue;
                }
                let body = matches!(method, Method::POST | Method::PUT).then(|| json!({}));
                let (status, answer) = api
                    .call(method.clone(), &uri, "bsn_not-a-token", body)
                    .await;
                assert_eq!(
                    status,
                    StatusCode::UNAUTHORIZED,
                    "{method} {path}: {answer}"
                );
            }
        }
        public.sort_unstable();
        let mut expected = PUBLIC.to_vec();
        expected.sort_unstable();
        assert_eq!(public, expected, "the routes served without a token");
    })
    .await;
}

#[test]
fn the_document_names_its_security_and_the_wire_types() {
    let document = serde_json::to_value(super::document()).unwrap();
    assert_eq!(document["info"]["title"], "bosun");
    assert_eq!(
        document["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert_eq!(document["security"], json!([{"bearer": []}]));
    // The public routes need no token.
    assert_eq!(
        document["paths"]["/healthz"]["get"]["security"],
        json!([{}])
    );
    let mut ids: Vec<&str> = document["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .filter_map(|operation| operation["operationId"].as_str())
        .collect();
    let count = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), count, "operation ids are unique");
    let schemas = document["components"]["schemas"].as_object().unwrap();
    for name in [
        "ErrorBody",
        "Execution",
        "ExecutionStatus",
        "Job",
        "Schedule",
    ] {
        assert!(schemas.contains_key(name), "{name} is in the document");
    }
}
