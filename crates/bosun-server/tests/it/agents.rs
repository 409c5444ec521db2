//! `/{tenant}/api/agents`: remote agents made with a machine key shown once, listed
//! without it, renamed, given a new key, deactivated and deleted, each only in its
//! own tenant; the built-in `local` left alone. Whether a key lets an agent in is
//! asked of a route agents use (`agent-download`): 401 for a key that does not,
//! 404 (no such package) for one that does.

use serde_json::{Value, json};

use crate::support::{TestServer, on_each_engine};

impl TestServer {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self.http.request(method, self.url(path));
        if let Some(body) = body {
            request = request.json(&body);
        }
        self.send(request, token).await
    }

    /// What `agent-download` answers the machine key `key` of tenant `default`.
    async fn key_lets_in(&self, key: &str) -> bool {
        let url = self.url("/default/api/packages/no-such-package/versions/1.0.0/agent-download");
        let response = self
            .http
            .get(url)
            .header("X-MachineKey", key)
            .send()
            .await
            .unwrap();
        match response.status().as_u16() {
            401 => false,
            404 => true,
            other => panic!("agent-download answered {other}"),
        }
    }
}

#[tokio::test]
async fn an_agent_is_made_with_its_key_shown_once_then_listed_renamed_and_rotated() {
    on_each_engine(|server| async move {
        let token = server.token.clone();
        let (status, made) = server
            .post(
                "/default/api/agents/create",
                json!({"Name": "robot-1", "MachineName": "box-1"}),
            )
            .await;
        assert_eq!(status, 201, "{made}");
        assert_eq!(made["name"], "robot-1");
        assert_eq!(made["machineName"], "box-1");
        assert_eq!(made["status"], "Disconnected");
        assert_eq!(made["isActive"], true);
        assert_eq!(made["lastHeartbeat"], Value::Null);
        let key = made["machineKey"].as_str().unwrap().to_owned();
        assert!(key.starts_with("bmk_"), "{made}");
        let id = made["id"].as_str().unwrap().to_owned();
        assert!(server.key_lets_in(&key).await);
        assert!(!server.key_lets_in("bmk_wrong").await);

        // Listed as a bare array, with the built-in agent, never with a key.
        let (status, list) = server.get("/default/api/agents").await;
        assert_eq!(status, 200, "{list}");
        let names: Vec<&str> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["local", "robot-1"]);
        assert!(!list.to_string().contains(&key), "a listing showed the key");
        assert!(!list.to_string().contains("machineKey"), "{list}");
        let (_, page) = server.get("/api/agents").await;
        assert_eq!(page["items"].as_array().unwrap().len(), 2, "{page}");
        let (status, one) = server.get(&format!("/default/api/agents/{id}")).await;
        assert_eq!(status, 200);
        assert_eq!(one, list[1]);
        assert!(one.get("machineKey").is_none());

        // Renamed, and moved to another machine.
        let path = format!("/default/api/agents/{id}");
        let (status, renamed) = server
            .call(
                reqwest::Method::PUT,
                &path,
                &token,
                Some(json!({"name": "robot-2", "machineName": "box-2"})),
            )
            .await;
        assert_eq!(status, 200, "{renamed}");
        assert_eq!(
            (renamed["name"].as_str(), renamed["machineName"].as_str()),
            (Some("robot-2"), Some("box-2"))
        );

        // A new key: the old one stops working at once.
        let (status, rotated) = server
            .post(&format!("{path}/regenerateKey"), json!({}))
            .await;
        assert_eq!(status, 200, "{rotated}");
        let new_key = rotated["machineKey"].as_str().unwrap();
        assert_ne!(new_key, key);
        assert_eq!(rotated["name"], "robot-2");
        assert!(!server.key_lets_in(&key).await, "the old key still works");
        assert!(server.key_lets_in(new_key).await);

        // Deactivated: the key no longer lets it in.
        let (status, off) = server.post(&format!("{path}/deactivate"), json!({})).await;
        assert_eq!(status, 200, "{off}");
        assert_eq!(
            (off["isActive"].as_bool(), off["status"].as_str()),
            (Some(false), Some("Disconnected"))
        );
        assert!(!server.key_lets_in(new_key).await);

        // Deleted.
        let (status, _) = server
            .call(reqwest::Method::DELETE, &path, &token, None)
            .await;
        assert_eq!(status, 204);
        let (status, gone) = server.get(&path).await;
        assert_eq!((status, gone["code"].as_str()), (404, Some("not_found")));
        let (status, _) = server
            .call(reqwest::Method::DELETE, &path, &token, None)
            .await;
        assert_eq!(status, 404);
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn bad_names_are_400_a_taken_one_409_and_local_is_left_alone() {
    on_each_engine(|server| async move {
        let token = server.token.clone();
        for (body, says) in [
            (json!({"name": "a/b"}), "cannot contain '/'"),
            (json!({"machineName": "box"}), "name is required"),
            (json!({"name": ""}), "cannot be empty"),
            (json!({"name": 7}), "name is text"),
            (
                json!({"name": "ok", "machineName": "a\u{7}b"}),
                "control characters",
            ),
            (json!(["robot"]), "JSON object"),
        ] {
            let (status, answer) = server
                .post("/default/api/agents/create", body.clone())
                .await;
            assert_eq!(status, 400, "{body}: {answer}");
            let message = answer["message"].as_str().unwrap();
            assert!(message.contains(says), "{body}: {message}");
        }
        let (status, _) = server
            .post("/default/api/agents/create", json!({"name": "robot"}))
            .await;
        assert_eq!(status, 201);
        for name in ["robot", "local"] {
            let (status, answer) = server
                .post("/default/api/agents/create", json!({"name": name}))
                .await;
            assert_eq!(status, 409, "{name}: {answer}");
            assert_eq!(
                answer["message"],
                format!("agent \"{name}\" already exists")
            );
        }

        let (_, list) = server.get("/default/api/agents").await;
        let local = list
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == "local")
            .expect("the built-in agent is listed")
            .clone();
        assert_eq!(local["status"], "Available");
        let path = format!("/default/api/agents/{}", local["id"].as_str().unwrap());
        for (method, path, body) in [
            (
                reqwest::Method::PUT,
                path.clone(),
                Some(json!({"name": "mine"})),
            ),
            (reqwest::Method::POST, format!("{path}/deactivate"), None),
            (reqwest::Method::POST, format!("{path}/regenerateKey"), None),
            (reqwest::Method::DELETE, path.clone(), None),
        ] {
            let (status, answer) = server.call(method.clone(), &path, &token, body).await;
            assert_eq!(status, 409, "{method} {path}: {answer}");
            let message = answer["message"].as_str().unwrap();
            assert!(message.contains("the server's own runner"), "{message}");
        }
        let (_, still) = server.get(&path).await;
        assert_eq!(still, local);
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn another_tenant_s_agents_are_not_found_and_permissions_are_checked() {
    on_each_engine(|server| async move {
        let (status, made) = server
            .post("/default/api/agents/create", json!({"name": "robot"}))
            .await;
        assert_eq!(status, 201);
        let id = made["id"].as_str().unwrap().to_owned();
        let (status, acme) = server.post("/api/tenants", json!({"slug": "acme"})).await;
        assert_eq!(status, 201, "{acme}");
        let theirs = acme["token"]["token"].as_str().unwrap().to_owned();

        // Their token, their tenant, our agent's id: not there.
        let path = format!("/acme/api/agents/{id}");
        for (method, path, body) in [
            (reqwest::Method::GET, path.clone(), None),
            (
                reqwest::Method::PUT,
                path.clone(),
                Some(json!({"name": "mine"})),
            ),
            (reqwest::Method::POST, format!("{path}/regenerateKey"), None),
            (reqwest::Method::POST, format!("{path}/deactivate"), None),
            (reqwest::Method::DELETE, path.clone(), None),
        ] {
            let (status, answer) = server.call(method.clone(), &path, &theirs, body).await;
            assert_eq!(status, 404, "{method} {path}: {answer}");
        }
        let (_, list) = server
            .call(reqwest::Method::GET, "/acme/api/agents", &theirs, None)
            .await;
        let names: Vec<&str> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["local"], "{list}");
        // Their token on our tenant's routes: no such tenant.
        let (status, _) = server
            .call(
                reqwest::Method::GET,
                &format!("/default/api/agents/{id}"),
                &theirs,
                None,
            )
            .await;
        assert_eq!(status, 404);
        let (_, ours) = server.get(&format!("/default/api/agents/{id}")).await;
        assert_eq!(ours["name"], "robot", "untouched");

        // A token that may only look.
        let (status, viewer) = server
            .post(
                "/api/tokens",
                json!({"name": "v", "permissions": ["agents:view"]}),
            )
            .await;
        assert_eq!(status, 201, "{viewer}");
        let viewer = viewer["token"].as_str().unwrap();
        let (status, _) = server
            .call(reqwest::Method::GET, "/default/api/agents", viewer, None)
            .await;
        assert_eq!(status, 200);
        let (status, answer) = server
            .call(
                reqwest::Method::POST,
                "/default/api/agents/create",
                viewer,
                Some(json!({"name": "sneaky"})),
            )
            .await;
        assert_eq!(status, 403, "{answer}");
        assert_eq!(
            answer["message"],
            "this token lacks the permission agents:create"
        );
        server.stop().await;
    })
    .await;
}
