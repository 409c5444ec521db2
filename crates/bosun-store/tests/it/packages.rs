//! Packages and their versions, and agents' machine keys, on both engines.

use bosun_core::package::{PackageName, Version};
use bosun_store::{NewPackageVersion, StoreError};

use super::on_each_engine;

fn upload(version: &str, key: &str) -> NewPackageVersion {
    NewPackageVersion {
        version: version.parse().unwrap(),
        size: 1234,
        sha256: "ab".repeat(32),
        object_key: key.to_owned(),
    }
}

#[tokio::test]
async fn a_version_is_recorded_once_and_only_in_its_tenant() {
    on_each_engine(|store| async move {
        let acme = store.ensure_tenant("acme", "Acme").await.unwrap();
        let other = store.ensure_tenant("other", "Other").await.unwrap();
        let name: PackageName = "web-scraper".parse().unwrap();

        let first = store
            .add_package_version(&acme.id, &name, Some("scrapes"), &upload("1.0.0", "k1"))
            .await
            .unwrap();
        assert_eq!(first.name, name);
        assert_eq!(first.description.as_deref(), Some("scrapes"));
        assert_eq!(first.versions.len(), 1);
        assert_eq!(first.versions[0].size, 1234);

        let again = store
            .add_package_version(&acme.id, &name, None, &upload("1.0.0", "k2"))
            .await;
        assert!(
            matches!(again, Err(StoreError::Conflict { ref name, .. }) if name == "web-scraper@1.0.0"),
            "{again:?}"
        );
        let second = store
            .add_version_to_package(&acme.id, &first.id, &upload("1.1.0", "k3"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(second.id, first.id);
        assert_eq!(second.description.as_deref(), Some("scrapes"), "kept");
        let versions: Vec<&str> = second.versions.iter().map(|v| v.version.as_str()).collect();
        assert_eq!(versions, ["1.0.0", "1.1.0"]);
        let keys: Vec<&str> = second.versions.iter().map(|v| v.object_key.as_str()).collect();
        assert_eq!(keys, ["k1", "k3"], "the refused upload left no row");

        // Another tenant sees none of it, and may use the same name.
        assert!(store.package(&other.id, &first.id).await.unwrap().is_none());
        assert!(store.packages(&other.id).await.unwrap().is_empty());
        assert!(
            store
                .add_version_to_package(&other.id, &first.id, &upload("2.0.0", "k4"))
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(
            store.delete_package(&other.id, &first.id).await.unwrap(),
            None
        );
        store
            .add_package_version(&other.id, &name, None, &upload("1.0.0", "k5"))
            .await
            .unwrap();

        let by_name = store.package(&acme.id, "web-scraper").await.unwrap().unwrap();
        assert_eq!(by_name.id, first.id);
        let listed = store.packages(&acme.id).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].versions.len(), 2);

        let v1: Version = "1.0.0".parse().unwrap();
        assert_eq!(
            store
                .delete_package_version(&acme.id, &first.id, &v1)
                .await
                .unwrap()
                .as_deref(),
            Some("k1")
        );
        assert_eq!(
            store
                .delete_package_version(&acme.id, &first.id, &v1)
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            store.delete_package(&acme.id, &first.id).await.unwrap(),
            Some(vec!["k3".to_owned()])
        );
        assert!(store.package(&acme.id, &first.id).await.unwrap().is_none());
    })
    .await;
}

#[tokio::test]
async fn a_machine_key_finds_its_agent_in_its_tenant_until_replaced() {
    on_each_engine(|store| async move {
        let acme = store.ensure_tenant("acme", "Acme").await.unwrap();
        let other = store.ensure_tenant("other", "Other").await.unwrap();
        let agent = store.ensure_agent(&acme.id, "robot-1").await.unwrap();
        let key = store
            .regenerate_machine_key(&acme.id, &agent.id)
            .await
            .unwrap()
            .unwrap();
        assert!(key.starts_with(bosun_store::MACHINE_KEY_PREFIX));
        let found = store.agent_by_machine_key(&acme.id, &key).await.unwrap();
        assert_eq!(found.map(|a| a.id), Some(agent.id.clone()));
        assert!(
            store
                .agent_by_machine_key(&other.id, &key)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .agent_by_machine_key(&acme.id, "bmk_nope")
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .regenerate_machine_key(&other.id, &agent.id)
                .await
                .unwrap()
                .is_none()
        );

        let newer = store
            .regenerate_machine_key(&acme.id, &agent.id)
            .await
            .unwrap()
            .unwrap();
        assert_ne!(newer, key);
        assert!(
            store
                .agent_by_machine_key(&acme.id, &key)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .agent_by_machine_key(&acme.id, &newer)
                .await
                .unwrap()
                .is_some()
        );
    })
    .await;
}
