//! Unit tests of identity, revision hashing, defaults and the legacy forms.

use k8s_openapi::api::apps::v1::StatefulSet;
use serde_json::json;

use crate::statefulset::defaults::{default_statefulset, legacy_to_apps_v1};
use crate::statefulset::identity::parse_name;
use crate::statefulset::revision::{RevisionEncoding, fnv1_32, get_patch, go_json, hash_revision_data, new_revision};

const GOLDEN_RAW: &str = r#"{"spec":{"template":{"$patch":"replace","metadata":{"annotations":{"test":"value"},"creationTimestamp":null,"labels":{"app":"foo"}},"spec":{"containers":[{"image":"test","imagePullPolicy":"Always","name":"test","resources":{},"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File"}],"dnsPolicy":"ClusterFirst","restartPolicy":"Always","schedulerName":"default-scheduler","securityContext":{},"terminationGracePeriodSeconds":30}}}}"#;

#[test]
fn revision_hash_golden_vector() {
    // ref §4.1: FNV-1 32 over raw ++ "0" = 733928534 ⇒ c77f6d978.
    let mut bytes = GOLDEN_RAW.as_bytes().to_vec();
    bytes.push(b'0');
    assert_eq!(fnv1_32(&bytes), 733_928_534);
    assert_eq!(hash_revision_data(GOLDEN_RAW, 0), "c77f6d978");
}

/// `TestStatefulSetCompatibility`'s set: the same manifest, defaulted here, gives the same
/// revision data bytes and name as upstream 1.33.
#[test]
fn golden_vector_from_defaulted_manifest() {
    let mut set: StatefulSet = serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "test", "namespace": "default", "uid": "u"},
        "spec": {
            "selector": {"matchLabels": {"app": "foo"}},
            "template": {
                "metadata": {"labels": {"app": "foo"}, "annotations": {"test": "value"}},
                "spec": {"containers": [{"name": "test", "image": "test"}]}
            }
        }
    }))
    .unwrap();
    default_statefulset(&mut set, false);
    assert_eq!(go_json(&get_patch(&set, RevisionEncoding::V1_33)), GOLDEN_RAW);
    let rev = new_revision(&set, 1, 0, RevisionEncoding::V1_33);
    assert_eq!(rev.metadata.name.as_deref(), Some("test-c77f6d978"));
    assert_eq!(rev.metadata.labels.as_ref().unwrap()["controller.kubernetes.io/hash"], "c77f6d978");
    assert_eq!(rev.metadata.labels.as_ref().unwrap()["app"], "foo");
}

#[test]
fn go_json_escapes_like_go() {
    assert_eq!(
        go_json(&json!({"b": "<a&b>", "a": [1, true, null]})),
        r#"{"a":[1,true,null],"b":"\u003ca\u0026b\u003e"}"#
    );
    assert_eq!(go_json(&json!("x\u{8}\u{1}\u{2028}")), r#""x\b\u0001\u2028""#);
}

#[test]
fn parse_names_like_upstream_regex() {
    assert_eq!(parse_name("web-0"), ("web".into(), 0));
    assert_eq!(parse_name("web-1-2"), ("web-1".into(), 2));
    assert_eq!(parse_name("web-01"), ("web".into(), 1));
    assert_eq!(parse_name("web"), ("".into(), -1));
    assert_eq!(parse_name("web-"), ("".into(), -1));
    assert_eq!(parse_name("web-x"), ("".into(), -1));
    assert_eq!(parse_name("web-99999999999"), ("web".into(), -1));
}

#[test]
fn apps_v1_defaults() {
    let mut set: StatefulSet = serde_json::from_value(json!({
        "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": {"app": "nginx"}}, "serviceName": "nginx",
            "template": {"metadata": {"labels": {"app": "nginx"}}, "spec": {"containers": [
                {"name": "nginx", "image": "registry.k8s.io/nginx-slim:0.8", "ports": [{"containerPort": 80, "name": "web"}],
                 "readinessProbe": {"httpGet": {"port": 80}}}]}}}
    }))
    .unwrap();
    default_statefulset(&mut set, false);
    let v = serde_json::to_value(&set).unwrap();
    assert_eq!(v["spec"]["podManagementPolicy"], "OrderedReady");
    assert_eq!(v["spec"]["updateStrategy"], json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}));
    assert_eq!(v["spec"]["revisionHistoryLimit"], 10);
    assert_eq!(v["spec"]["replicas"], 1);
    assert_eq!(
        v["spec"]["persistentVolumeClaimRetentionPolicy"],
        json!({"whenDeleted": "Retain", "whenScaled": "Retain"})
    );
    let c = &v["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["imagePullPolicy"], "IfNotPresent");
    assert_eq!(c["ports"][0]["protocol"], "TCP");
    assert_eq!(
        c["readinessProbe"],
        json!({"httpGet": {"port": 80, "path": "/", "scheme": "HTTP"},
        "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3})
    );
    assert_eq!(v["spec"]["template"]["spec"]["terminationGracePeriodSeconds"], 30);
}

#[test]
fn legacy_v1beta1_defaults_selector_and_on_delete() {
    let set = legacy_to_apps_v1(
        json!({"apiVersion": "apps/v1beta1", "kind": "StatefulSet", "metadata": {"name": "web"},
            "spec": {"serviceName": "nginx", "replicas": 2, "template": {"metadata": {"labels": {"app": "nginx"}},
                "spec": {"containers": [{"name": "nginx", "image": "nginx:latest"}]}}}}),
        false,
    )
    .unwrap();
    let spec = set.spec.as_ref().unwrap();
    assert_eq!(spec.selector.match_labels.as_ref().unwrap()["app"], "nginx");
    assert_eq!(set.metadata.labels.as_ref().unwrap()["app"], "nginx");
    assert_eq!(spec.update_strategy.as_ref().unwrap().type_.as_deref(), Some("OnDelete"));
    assert!(spec.update_strategy.as_ref().unwrap().rolling_update.is_none());
    assert_eq!(spec.template.spec.as_ref().unwrap().containers[0].image_pull_policy.as_deref(), Some("Always"));
}

#[test]
fn legacy_v1beta2_requires_selector_and_rolls() {
    let m = json!({"apiVersion": "apps/v1beta2", "kind": "StatefulSet", "metadata": {"name": "web"},
        "spec": {"serviceName": "nginx", "template": {"metadata": {"labels": {"app": "nginx"}},
            "spec": {"containers": [{"name": "nginx", "image": "nginx@sha256:abc"}]}}}});
    assert_eq!(legacy_to_apps_v1(m.clone(), false).unwrap_err().to_string(), "spec.selector: Required value");
    let mut m2 = m;
    m2["spec"]["selector"] = json!({"matchLabels": {"app": "nginx"}});
    let set = legacy_to_apps_v1(m2, false).unwrap();
    let spec = set.spec.as_ref().unwrap();
    assert_eq!(spec.update_strategy.as_ref().unwrap().type_.as_deref(), Some("RollingUpdate"));
    assert_eq!(spec.update_strategy.as_ref().unwrap().rolling_update.as_ref().unwrap().partition, Some(0));
    assert_eq!(spec.template.spec.as_ref().unwrap().containers[0].image_pull_policy.as_deref(), Some("IfNotPresent"));
    assert!(legacy_to_apps_v1(json!({"apiVersion": "apps/v1", "kind": "Deployment"}), false).is_err());
}

/// ref §5.2's table, cell by cell, through `updateClaimOwnerRefForSetAndPod`.
#[test]
fn retention_policy_owner_ref_table() {
    use crate::statefulset::identity::new_persistent_volume_claims;
    use crate::statefulset::retention::{is_claim_owner_up_to_date, updated_claim_owner_refs};
    use k8s_openapi::api::core::v1::Pod;
    for (when_deleted, when_scaled, in_range, condemned) in [
        ("Retain", "Retain", (false, false), (false, false)),
        ("Delete", "Retain", (true, false), (true, false)),
        ("Retain", "Delete", (false, false), (false, true)),
        ("Delete", "Delete", (true, false), (false, true)),
    ] {
        let mut set = super::harness::new_set("web", 2);
        let p = set.spec.as_mut().unwrap().persistent_volume_claim_retention_policy.as_mut().unwrap();
        p.when_deleted = Some(when_deleted.into());
        p.when_scaled = Some(when_scaled.into());
        for (ordinal, (want_set, want_pod)) in [(1, in_range), (5, condemned)] {
            let mut pod = Pod::default();
            pod.metadata.name = Some(format!("web-{ordinal}"));
            pod.metadata.uid = Some("uid-pod".into());
            let mut claim = new_persistent_volume_claims(&set, ordinal).remove(0);
            // From a claim without refs, the policy adds exactly its cell of the table.
            claim.metadata.owner_references = Some(updated_claim_owner_refs(&claim, &set, &pod));
            let refs = claim.metadata.owner_references.clone().unwrap();
            let has = |kind: &str| refs.iter().any(|r| r.kind == kind && r.controller == Some(true));
            assert_eq!(
                (has("StatefulSet"), has("Pod")),
                (want_set, want_pod),
                "{when_deleted}/{when_scaled} ord {ordinal}"
            );
            assert!(is_claim_owner_up_to_date(&claim, &set, &pod));
        }
    }
}

#[test]
fn label_selector_operators() {
    use crate::statefulset::selector::{matches, validate};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};
    let req = |k: &str, op: &str, v: &[&str]| LabelSelectorRequirement {
        key: k.into(),
        operator: op.into(),
        values: (!v.is_empty()).then(|| v.iter().map(|s| s.to_string()).collect()),
    };
    let sel = LabelSelector {
        match_labels: Some([("app".to_string(), "web".to_string())].into()),
        match_expressions: Some(vec![
            req("tier", "In", &["a", "b"]),
            req("x", "DoesNotExist", &[]),
            req("y", "NotIn", &["z"]),
        ]),
    };
    validate(&sel).unwrap();
    let labels = |kv: &[(&str, &str)]| Some(kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect());
    assert!(matches(Some(&sel), labels(&[("app", "web"), ("tier", "a")]).as_ref()));
    assert!(!matches(Some(&sel), labels(&[("app", "web"), ("tier", "c")]).as_ref()));
    assert!(!matches(Some(&sel), labels(&[("app", "web"), ("tier", "a"), ("x", "1")]).as_ref()));
    assert!(!matches(Some(&sel), labels(&[("app", "web"), ("tier", "a"), ("y", "z")]).as_ref()));
    assert!(!matches(None, labels(&[("app", "web")]).as_ref()), "nil selector matches nothing");
    assert!(matches(Some(&LabelSelector::default()), None), "empty selector matches everything");
    assert!(
        validate(&LabelSelector { match_expressions: Some(vec![req("a", "In", &[])]), ..Default::default() }).is_err()
    );
}

/// The tutorial manifests hash to the names upstream gives them. Expected names computed with
/// k8s.io/kubernetes v1.35.8 (`legacyscheme` defaulting, `getPatch`, `HashControllerRevision`);
/// `web.yaml` is apps/v1beta1, fed to upstream with the selector and OnDelete of that version.
/// `testdata/seed_statefulsets.json` holds the seeds' StatefulSets as YAML 1.1 (kubectl) reads
/// them — note `defaultMode: 0755` is octal 493 there, not 755.
#[test]
fn seed_manifests_hash_like_upstream() {
    let seeds: Vec<serde_json::Value> = serde_json::from_str(include_str!("testdata/seed_statefulsets.json")).unwrap();
    let want = ["mysql-5d68c7cc95", "redis-cluster-657f9494c9", "web-7d8f4cbdb5", "zookeeper-5647d9757b"];
    assert_eq!(seeds.len(), want.len());
    for (value, want) in seeds.into_iter().zip(want) {
        let set = legacy_to_apps_v1(value, false).unwrap();
        let rev = new_revision(&set, 1, 0, RevisionEncoding::Current);
        assert_eq!(rev.metadata.name.as_deref(), Some(want), "data: {}", go_json(&rev.data.unwrap().0));
    }
}

/// A template exercising Go's encoding rules (empty maps and lists, `false` on pointer and
/// non-pointer booleans, HTML escaping in annotations, probes of every kind, projected and
/// downward-API volumes, a source-less volume, limits without requests, a digest image): the
/// name upstream (k8s.io/kubernetes v1.35.8) computes for `testdata/stress_statefulset.json`.
#[test]
fn stress_template_hashes_like_upstream() {
    let value: serde_json::Value = serde_json::from_str(include_str!("testdata/stress_statefulset.json")).unwrap();
    let set = legacy_to_apps_v1(value, false).unwrap();
    let rev = new_revision(&set, 1, 0, RevisionEncoding::Current);
    assert_eq!(
        rev.metadata.name.as_deref(),
        Some(STRESS_UPSTREAM_NAME),
        "data: {}",
        go_json(&rev.data.as_ref().unwrap().0)
    );
}
const STRESS_UPSTREAM_NAME: &str = "stress-685cb7777b";
