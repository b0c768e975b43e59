//! API-server defaulting of StatefulSets (ref §7) and the legacy `apps/v1beta1` /
//! `apps/v1beta2` forms the tutorials use.
//!
//! Upstream: `pkg/apis/apps/v1/defaults.go` (`SetDefaults_StatefulSet`),
//! `pkg/apis/apps/v1beta1|v1beta2/defaults.go`, `pkg/apis/core/v1/defaults.go`
//! (`SetDefaults_PodSpec`, `SetDefaults_Container`, `SetDefaults_ContainerPort`,
//! `SetDefaults_Probe`, `SetDefaults_HTTPGetAction`, `SetDefaults_Volume`, volume-source
//! `defaultMode`s, `SetDefaults_ObjectFieldSelector`, `SetDefaults_PersistentVolumeClaimSpec`).
//!
//! The pod template must be defaulted exactly as the API server does, because the
//! ControllerRevision hash is computed over the stored (defaulted) template: the same manifest
//! must give the same revision name as upstream (`test-c77f6d978` in the golden vector).
//! Covered: the fields listed above; not covered: resource-quantity canonicalisation,
//! `hostPort` defaulting under hostNetwork, and rarely used volume sources' defaults (iSCSI, RBD,
//! AzureDisk, ScaleIO) — those manifests still work, only their hash may differ from upstream's.

use k8s_openapi::api::apps::v1::{
    RollingUpdateStatefulSetStrategy, StatefulSet, StatefulSetPersistentVolumeClaimRetentionPolicy,
    StatefulSetUpdateStrategy,
};
use k8s_openapi::api::core::v1::{
    Container, EmptyDirVolumeSource, PodSecurityContext, PodSpec, PodTemplateSpec, Probe, ResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;

use super::{ON_DELETE, ORDERED_READY, RETAIN, ROLLING_UPDATE};

/// A manifest that cannot be turned into an apps/v1 StatefulSet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DefaultingError {
    #[error(
        "unsupported apiVersion/kind {api_version:?}/{kind:?}: expected apps/v1, apps/v1beta2 or apps/v1beta1 StatefulSet"
    )]
    Unsupported { api_version: String, kind: String },
    #[error("spec.selector: Required value")]
    SelectorRequired,
    #[error("{0}")]
    Decode(String),
}

/// apps/v1 `SetDefaults_StatefulSet` plus the pod template's core/v1 defaults.
/// `max_unavailable_gate`: gate MaxUnavailableStatefulSet (defaults `maxUnavailable: 1`).
pub fn default_statefulset(set: &mut StatefulSet, max_unavailable_gate: bool) {
    let spec = set.spec.get_or_insert_with(Default::default);
    if spec.pod_management_policy.as_deref().unwrap_or("").is_empty() {
        spec.pod_management_policy = Some(ORDERED_READY.into());
    }
    let strategy = spec.update_strategy.get_or_insert_with(StatefulSetUpdateStrategy::default);
    if strategy.type_.as_deref().unwrap_or("").is_empty() {
        strategy.type_ = Some(ROLLING_UPDATE.into());
        strategy.rolling_update.get_or_insert_with(RollingUpdateStatefulSetStrategy::default);
    }
    if strategy.type_.as_deref() == Some(ROLLING_UPDATE)
        && let Some(ru) = strategy.rolling_update.as_mut()
    {
        ru.partition.get_or_insert(0);
        if max_unavailable_gate {
            ru.max_unavailable.get_or_insert(IntOrString::Int(1));
        }
    }
    let policy = spec
        .persistent_volume_claim_retention_policy
        .get_or_insert_with(StatefulSetPersistentVolumeClaimRetentionPolicy::default);
    if policy.when_deleted.as_deref().unwrap_or("").is_empty() {
        policy.when_deleted = Some(RETAIN.into());
    }
    if policy.when_scaled.as_deref().unwrap_or("").is_empty() {
        policy.when_scaled = Some(RETAIN.into());
    }
    spec.replicas.get_or_insert(1);
    spec.revision_history_limit.get_or_insert(10);
    spec.min_ready_seconds.get_or_insert(0);
    default_pod_template(&mut spec.template);
    for claim in spec.volume_claim_templates.iter_mut().flatten() {
        // SetDefaults_PersistentVolumeClaimSpec
        let cs = claim.spec.get_or_insert_with(Default::default);
        cs.volume_mode.get_or_insert_with(|| "Filesystem".into());
    }
}

/// core/v1 defaults of a pod template as the API server applies them inside a StatefulSet.
pub fn default_pod_template(t: &mut PodTemplateSpec) {
    let spec = t.spec.get_or_insert_with(PodSpec::default);
    // SetDefaults_PodSpec
    if spec.dns_policy.as_deref().unwrap_or("").is_empty() {
        spec.dns_policy = Some("ClusterFirst".into());
    }
    if spec.restart_policy.as_deref().unwrap_or("").is_empty() {
        spec.restart_policy = Some("Always".into());
    }
    spec.security_context.get_or_insert_with(PodSecurityContext::default);
    spec.termination_grace_period_seconds.get_or_insert(30);
    if spec.scheduler_name.as_deref().unwrap_or("").is_empty() {
        spec.scheduler_name = Some("default-scheduler".into());
    }
    for c in spec.containers.iter_mut().chain(spec.init_containers.iter_mut().flatten()) {
        default_container(c);
    }
    for v in spec.volumes.iter_mut().flatten() {
        // SetDefaults_Volume: no source ⇒ emptyDir.
        let as_json = serde_json::to_value(&*v).unwrap_or(Value::Null);
        if as_json.as_object().is_some_and(|o| o.len() == 1) {
            v.empty_dir = Some(EmptyDirVolumeSource::default());
        }
        if let Some(s) = v.secret.as_mut() {
            s.default_mode.get_or_insert(0o644);
        }
        if let Some(s) = v.config_map.as_mut() {
            s.default_mode.get_or_insert(0o644);
        }
        if let Some(s) = v.downward_api.as_mut() {
            s.default_mode.get_or_insert(0o644);
            for item in s.items.iter_mut().flatten() {
                if let Some(f) = item.field_ref.as_mut()
                    && f.api_version.as_deref().unwrap_or("").is_empty()
                {
                    f.api_version = Some("v1".into());
                }
            }
        }
        if let Some(s) = v.projected.as_mut() {
            s.default_mode.get_or_insert(0o644);
        }
        if let Some(s) = v.host_path.as_mut() {
            s.type_.get_or_insert_with(String::new);
        }
    }
}

/// `parsers.ParseImageName` tag: `latest` when neither tag nor digest is given.
fn image_tag(image: &str) -> &str {
    let without_digest = image.split('@').next().unwrap_or("");
    let has_digest = image.contains('@');
    let last = without_digest.rsplit('/').next().unwrap_or("");
    match last.rsplit_once(':') {
        Some((_, tag)) => tag,
        None if has_digest => "",
        None => "latest",
    }
}

fn default_probe(p: &mut Probe) {
    p.timeout_seconds.get_or_insert(1);
    p.period_seconds.get_or_insert(10);
    p.success_threshold.get_or_insert(1);
    p.failure_threshold.get_or_insert(3);
    if let Some(h) = p.http_get.as_mut() {
        if h.path.as_deref().unwrap_or("").is_empty() {
            h.path = Some("/".into());
        }
        if h.scheme.as_deref().unwrap_or("").is_empty() {
            h.scheme = Some("HTTP".into());
        }
    }
}

/// `SetDefaults_Container` and the defaults of what it contains.
fn default_container(c: &mut Container) {
    if c.image_pull_policy.as_deref().unwrap_or("").is_empty() {
        let tag = image_tag(c.image.as_deref().unwrap_or(""));
        c.image_pull_policy = Some(if tag == "latest" { "Always" } else { "IfNotPresent" }.into());
    }
    if c.termination_message_path.as_deref().unwrap_or("").is_empty() {
        c.termination_message_path = Some("/dev/termination-log".into());
    }
    if c.termination_message_policy.as_deref().unwrap_or("").is_empty() {
        c.termination_message_policy = Some("File".into());
    }
    c.resources.get_or_insert_with(ResourceRequirements::default);
    for p in c.ports.iter_mut().flatten() {
        if p.protocol.as_deref().unwrap_or("").is_empty() {
            p.protocol = Some("TCP".into());
        }
    }
    for p in [&mut c.liveness_probe, &mut c.readiness_probe, &mut c.startup_probe].into_iter().flatten() {
        default_probe(p);
    }
    for e in c.env.iter_mut().flatten() {
        if let Some(f) = e.value_from.as_mut().and_then(|v| v.field_ref.as_mut())
            && f.api_version.as_deref().unwrap_or("").is_empty()
        {
            f.api_version = Some("v1".into());
        }
    }
}

/// Convert a StatefulSet manifest of `apps/v1`, `apps/v1beta2` or `apps/v1beta1` to a defaulted
/// apps/v1 object, applying the defaults the manifest's own version had first:
/// - `apps/v1beta1`: selector defaulted from the template labels (and `metadata.labels` too when
///   empty), `updateStrategy.type` OnDelete, partition 0 only for an explicit RollingUpdate with a
///   `rollingUpdate` block;
/// - `apps/v1beta2` and `apps/v1`: RollingUpdate with partition 0; `spec.selector` is required.
pub fn legacy_to_apps_v1(mut manifest: Value, max_unavailable_gate: bool) -> Result<StatefulSet, DefaultingError> {
    let api_version = manifest.get("apiVersion").and_then(Value::as_str).unwrap_or("").to_string();
    let kind = manifest.get("kind").and_then(Value::as_str).unwrap_or("").to_string();
    if kind != "StatefulSet" || !matches!(api_version.as_str(), "apps/v1" | "apps/v1beta1" | "apps/v1beta2") {
        return Err(DefaultingError::Unsupported { api_version, kind });
    }
    let template_labels = manifest.pointer("/spec/template/metadata/labels").cloned();
    let spec = manifest
        .as_object_mut()
        .ok_or_else(|| DefaultingError::Decode("a StatefulSet must be an object".into()))?
        .entry("spec")
        .or_insert_with(|| Value::Object(Default::default()));
    let spec = spec.as_object_mut().ok_or_else(|| DefaultingError::Decode("spec: must be an object".into()))?;
    let beta1 = api_version == "apps/v1beta1";
    if beta1 {
        let labels = template_labels.filter(|l| l.as_object().is_some_and(|o| !o.is_empty()));
        if let Some(labels) = labels {
            if spec.get("selector").is_none_or(Value::is_null) {
                spec.insert("selector".into(), serde_json::json!({ "matchLabels": labels }));
            }
            let meta_labels_empty =
                manifest.pointer("/metadata/labels").is_none_or(|l| l.as_object().is_none_or(|o| o.is_empty()));
            if meta_labels_empty && let Some(meta) = manifest.get_mut("metadata").and_then(Value::as_object_mut) {
                meta.insert("labels".into(), labels);
            }
        }
    }
    if manifest.pointer("/spec/selector").is_none_or(Value::is_null) {
        return Err(DefaultingError::SelectorRequired);
    }
    manifest["apiVersion"] = Value::String("apps/v1".into());
    let mut set: StatefulSet = serde_json::from_value(manifest).map_err(|e| DefaultingError::Decode(e.to_string()))?;
    if beta1 {
        let spec = set.spec.get_or_insert_with(Default::default);
        let strategy = spec.update_strategy.get_or_insert_with(StatefulSetUpdateStrategy::default);
        if strategy.type_.as_deref().unwrap_or("").is_empty() {
            strategy.type_ = Some(ON_DELETE.into());
        }
    }
    default_statefulset(&mut set, max_unavailable_gate);
    Ok(set)
}

/// An empty selector check helper for callers validating manifests: `spec.selector` present and
/// non-empty.
pub fn selector_is_empty(sel: &LabelSelector) -> bool {
    sel.match_labels.as_ref().is_none_or(|m| m.is_empty())
        && sel.match_expressions.as_ref().is_none_or(|m| m.is_empty())
}
