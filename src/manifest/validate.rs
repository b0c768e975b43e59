//! API-server-like validation for the kinds `ordinal` serves and runs.
//!
//! Mirrors `k8s.io/kubernetes/pkg/apis/{core,apps}/validation` for what matters here: object
//! names, StatefulSet specs (create and update) and Service specs. Objects are validated as
//! written (before apps/v1 defaulting), so fields that defaulting fills are optional here.
//! Messages are the API server's: `spec.selector: Required value`,
//! `spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive`.
//!
//! Beyond upstream (which leaves a StatefulSet's pod template mostly to pod creation), the
//! template is checked the way its pods would be: at least one container with a name and an
//! image, and every volume mount naming a volume or a claim template. Failing that at apply time
//! is kinder than pods that can never be created.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::IpAddr;

use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetSpec};
use k8s_openapi::api::core::v1::{
    Container, Endpoints, PersistentVolumeClaim, PersistentVolumeClaimSpec, Pod, PodSpec, Service,
};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::Object;

/// One invalid field, as the API server reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Field path, e.g. `spec.template.spec.containers[0].image`.
    pub field: String,
    pub kind: FieldErrorKind,
    /// The text after the field, e.g. `Required value` or
    /// `Unsupported value: "Foo": supported values: "OrderedReady", "Parallel"`.
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldErrorKind {
    Required,
    Invalid,
    Forbidden,
    NotSupported,
    NotFound,
    Duplicate,
    /// A field the object's type does not have (strict decoding).
    Unknown,
    /// A field that may not change on update.
    Immutable,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl FieldError {
    fn new(field: impl Into<String>, kind: FieldErrorKind, message: String) -> Self {
        FieldError { field: field.into(), kind, message }
    }
    fn required(field: impl Into<String>, detail: &str) -> Self {
        Self::new(field, FieldErrorKind::Required, with_detail("Required value".into(), detail))
    }
    fn invalid(field: impl Into<String>, value: impl fmt::Display, detail: &str) -> Self {
        Self::new(field, FieldErrorKind::Invalid, with_detail(format!("Invalid value: {value}"), detail))
    }
    fn forbidden(field: impl Into<String>, detail: &str) -> Self {
        Self::new(field, FieldErrorKind::Forbidden, with_detail("Forbidden".into(), detail))
    }
    fn not_supported(field: impl Into<String>, value: &str, supported: &[&str]) -> Self {
        let list: Vec<String> = supported.iter().map(|s| format!("{s:?}")).collect();
        Self::new(
            field,
            FieldErrorKind::NotSupported,
            format!("Unsupported value: {value:?}: supported values: {}", list.join(", ")),
        )
    }
    fn not_found(field: impl Into<String>, value: &str) -> Self {
        Self::new(field, FieldErrorKind::NotFound, format!("Not found: {value:?}"))
    }
    fn duplicate(field: impl Into<String>, value: &str) -> Self {
        Self::new(field, FieldErrorKind::Duplicate, format!("Duplicate value: {value:?}"))
    }
}

fn with_detail(head: String, detail: &str) -> String {
    if detail.is_empty() { head } else { format!("{head}: {detail}") }
}

/// The API server's summary line: `StatefulSet.apps "kubia" is invalid: spec.selector: Required
/// value`, or `... is invalid: [first, second]` for several errors.
pub fn invalid_message(obj: &Object, errors: &[FieldError]) -> String {
    let head = format!("{} {:?} is invalid", obj.qualified_kind(), obj.name());
    match errors {
        [] => head,
        [one] => format!("{head}: {one}"),
        many => {
            let all: Vec<String> = many.iter().map(ToString::to_string).collect();
            format!("{head}: [{}]", all.join(", "))
        }
    }
}

/// Create validation. An empty result means the API server would accept the object.
pub fn validate(obj: &Object) -> Vec<FieldError> {
    let mut errs = Vec::new();
    match obj {
        Object::Namespace(ns) => {
            validate_meta(&ns.metadata, NameRule::Label, false, &mut errs);
        }
        Object::Service(svc) => {
            validate_meta(&svc.metadata, NameRule::Label1035, true, &mut errs);
            validate_service(svc, &mut errs);
        }
        Object::StatefulSet(set) => {
            validate_meta(&set.metadata, NameRule::Label, true, &mut errs);
            validate_statefulset(set, &mut errs);
        }
        Object::Pod(pod) => {
            validate_meta(&pod.metadata, NameRule::Subdomain, true, &mut errs);
            validate_pod_identity(pod, &mut errs);
        }
        Object::EndpointSlice(o) => {
            validate_meta(&o.metadata, NameRule::Subdomain, true, &mut errs);
            validate_endpoint_slice(o, &mut errs);
        }
        Object::Endpoints(o) => {
            validate_meta(&o.metadata, NameRule::Subdomain, true, &mut errs);
            validate_endpoints(o, &mut errs);
        }
        Object::PersistentVolumeClaim(o) => {
            validate_meta(&o.metadata, NameRule::Subdomain, true, &mut errs);
            if let Some(spec) = &o.spec {
                validate_claim_spec(spec, "spec", &mut errs);
            } else {
                errs.push(FieldError::required("spec", ""));
            }
        }
        Object::ControllerRevision(o) => validate_meta(&o.metadata, NameRule::Subdomain, true, &mut errs),
        Object::Other { .. } => {}
    }
    errs
}

/// Update validation: what may not change from `old` to `new`, then [`validate`] of `new`.
/// A StatefulSet may change replicas, ordinals, template, updateStrategy, revisionHistoryLimit,
/// persistentVolumeClaimRetentionPolicy and minReadySeconds (as the 1.33 API server allows).
///
/// Defaults are compared as equal to absent fields (`podManagementPolicy: OrderedReady`, claim
/// templates' `volumeMode: Filesystem` and status), so a manifest may be compared with a stored,
/// defaulted object.
pub fn validate_update(old: &Object, new: &Object) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if old.kind() != new.kind() {
        errs.push(FieldError::invalid(
            "kind",
            format!("{:?}", new.kind()),
            &format!("cannot change kind from {:?}", old.kind()),
        ));
        return errs;
    }
    match (old, new) {
        (Object::StatefulSet(old), Object::StatefulSet(new)) => {
            let (o, n) = (old.spec.clone().unwrap_or_default(), new.spec.clone().unwrap_or_default());
            if immutable_view(&o) != immutable_view(&n) {
                errs.push(FieldError::new(
                    "spec",
                    FieldErrorKind::Forbidden,
                    "Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', \
                     'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and \
                     'minReadySeconds' are forbidden"
                        .into(),
                ));
            }
        }
        (Object::Service(old), Object::Service(new)) => {
            let ip = |s: &Service| s.spec.as_ref().and_then(|s| s.cluster_ip.clone()).unwrap_or_default();
            let ty = |s: &Service| s.spec.as_ref().and_then(|s| s.type_.clone()).unwrap_or_default();
            let (old_ip, new_ip) = (ip(old), ip(new));
            let external = ty(old) == "ExternalName" || ty(new) == "ExternalName";
            if !external && !old_ip.is_empty() && !new_ip.is_empty() && old_ip != new_ip {
                errs.push(FieldError::new(
                    "spec.clusterIP",
                    FieldErrorKind::Immutable,
                    format!("Invalid value: {new_ip:?}: field is immutable"),
                ));
            }
        }
        _ => {}
    }
    errs.extend(validate(new));
    errs
}

/// The StatefulSet spec fields that may not change, normalized so defaults equal absence.
fn immutable_view(spec: &StatefulSetSpec) -> serde_json::Value {
    let claims: Vec<serde_json::Value> = spec
        .volume_claim_templates
        .iter()
        .flatten()
        .map(|t| {
            let mut t: PersistentVolumeClaim = t.clone();
            t.status = None;
            if let Some(s) = t.spec.as_mut()
                && s.volume_mode.as_deref() == Some("Filesystem")
            {
                s.volume_mode = None;
            }
            serde_json::to_value(&t).unwrap_or_default()
        })
        .collect();
    serde_json::json!({
        "selector": spec.selector,
        "serviceName": spec.service_name.clone().unwrap_or_default(),
        "podManagementPolicy": spec.pod_management_policy.clone().unwrap_or_else(|| "OrderedReady".into()),
        "volumeClaimTemplates": claims,
    })
}

// ---- metadata and names ----

#[derive(Clone, Copy)]
enum NameRule {
    Label,
    Label1035,
    Subdomain,
}

fn validate_meta(meta: &ObjectMeta, rule: NameRule, namespaced: bool, errs: &mut Vec<FieldError>) {
    match meta.name.as_deref().filter(|n| !n.is_empty()) {
        None => {
            if meta.generate_name.as_deref().unwrap_or("").is_empty() {
                errs.push(FieldError::required("metadata.name", "name or generateName is required"));
            }
        }
        Some(name) => {
            let problems = match rule {
                NameRule::Label => dns1123_label(name),
                NameRule::Label1035 => dns1035_label(name),
                NameRule::Subdomain => dns1123_subdomain(name),
            };
            if !problems.is_empty() {
                errs.push(FieldError::invalid("metadata.name", format!("{name:?}"), &problems.join("; ")));
            }
        }
    }
    match meta.namespace.as_deref().filter(|n| !n.is_empty()) {
        Some(_) if !namespaced => errs.push(FieldError::forbidden("metadata.namespace", "not allowed on this type")),
        Some(ns) => {
            let problems = dns1123_label(ns);
            if !problems.is_empty() {
                errs.push(FieldError::invalid("metadata.namespace", format!("{ns:?}"), &problems.join("; ")));
            }
        }
        None => {}
    }
    validate_labels(meta.labels.as_ref(), "metadata.labels", errs);
}

fn validate_labels(labels: Option<&BTreeMap<String, String>>, field: &str, errs: &mut Vec<FieldError>) {
    for (k, v) in labels.into_iter().flatten() {
        let problems = qualified_name(k);
        if !problems.is_empty() {
            errs.push(FieldError::invalid(field, format!("{k:?}"), &problems.join("; ")));
        }
        let problems = label_value(v);
        if !problems.is_empty() {
            errs.push(FieldError::invalid(format!("{field}[{k}]"), format!("{v:?}"), &problems.join("; ")));
        }
    }
}

const LABEL_FMT: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and \
must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is \
'[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const LABEL1035_FMT: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with \
an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for \
validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const SUBDOMAIN_FMT: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' \
or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is \
'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

fn is_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

pub(crate) fn dns1123_label(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    if s.len() > 63 {
        out.push("must be no more than 63 characters".to_string());
    }
    if !is_label(s) {
        out.push(LABEL_FMT.to_string());
    }
    out
}

fn dns1035_label(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    if s.len() > 63 {
        out.push("must be no more than 63 characters".to_string());
    }
    if !is_label(s) || !s.as_bytes()[0].is_ascii_lowercase() {
        out.push(LABEL1035_FMT.to_string());
    }
    out
}

pub(crate) fn dns1123_subdomain(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    if s.len() > 253 {
        out.push("must be no more than 253 characters".to_string());
    }
    if s.is_empty() || !s.split('.').all(is_label) {
        out.push(SUBDOMAIN_FMT.to_string());
    }
    out
}

fn is_label_name_part(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
}

fn qualified_name(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let name = match s.split_once('/') {
        Some((prefix, name)) => {
            if prefix.is_empty() {
                out.push("prefix part must be non-empty".to_string());
            } else {
                out.extend(dns1123_subdomain(prefix).into_iter().map(|m| format!("prefix part {m}")));
            }
            name
        }
        None => s,
    };
    if name.is_empty() {
        out.push("name part must be non-empty".to_string());
    } else {
        if name.len() > 63 {
            out.push("name part must be no more than 63 characters".to_string());
        }
        if !is_label_name_part(name) {
            out.push(
                "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end \
                      with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for \
                      validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
                    .to_string(),
            );
        }
    }
    out
}

fn label_value(v: &str) -> Vec<String> {
    let mut out = Vec::new();
    if v.len() > 63 {
        out.push("must be no more than 63 characters".to_string());
    }
    if !v.is_empty() && !is_label_name_part(v) {
        out.push(
            "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and \
                  must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', \
                  regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
                .to_string(),
        );
    }
    out
}

/// IANA service name, as container and target port names must be.
fn iana_svc_name(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    if s.len() > 15 {
        out.push("must be no more than 15 characters".to_string());
    }
    if !s.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-') {
        out.push("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)".to_string());
    }
    if s.contains("--") {
        out.push("must not contain consecutive hyphens".to_string());
    }
    if !s.bytes().any(|c| c.is_ascii_lowercase()) {
        out.push("must contain at least one letter (a-z)".to_string());
    }
    if s.starts_with('-') || s.ends_with('-') {
        out.push("must not begin or end with a hyphen".to_string());
    }
    out
}

fn json(v: &impl serde::Serialize) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

// ---- label selectors ----

fn validate_selector(sel: &LabelSelector, field: &str, errs: &mut Vec<FieldError>) {
    validate_labels(sel.match_labels.as_ref(), &format!("{field}.matchLabels"), errs);
    for (i, req) in sel.match_expressions.iter().flatten().enumerate() {
        let f = format!("{field}.matchExpressions[{i}]");
        let has_values = req.values.as_ref().is_some_and(|v| !v.is_empty());
        match req.operator.as_str() {
            "In" | "NotIn" if !has_values => errs.push(FieldError::required(
                format!("{f}.values"),
                "must be specified when `operator` is 'In' or 'NotIn'",
            )),
            "Exists" | "DoesNotExist" if has_values => errs.push(FieldError::forbidden(
                format!("{f}.values"),
                "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
            )),
            "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
            op => errs.push(FieldError::invalid(
                format!("{f}.operator"),
                format!("{op:?}"),
                "not a valid selector operator",
            )),
        }
        let problems = qualified_name(&req.key);
        if !problems.is_empty() {
            errs.push(FieldError::invalid(format!("{f}.key"), format!("{:?}", req.key), &problems.join("; ")));
        }
    }
}

fn selector_is_nil(sel: &LabelSelector) -> bool {
    sel.match_labels.is_none() && sel.match_expressions.is_none()
}

fn selector_is_empty(sel: &LabelSelector) -> bool {
    sel.match_labels.as_ref().is_none_or(BTreeMap::is_empty) && sel.match_expressions.as_ref().is_none_or(Vec::is_empty)
}

/// Whether `sel` selects an object with `labels` (`LabelSelectorAsSelector(sel).Matches`).
pub(crate) fn selector_matches(sel: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    let labels_ok = sel.match_labels.iter().flatten().all(|(k, v)| labels.get(k) == Some(v));
    let exprs_ok = sel.match_expressions.iter().flatten().all(|req| {
        let value = labels.get(&req.key);
        let values = req.values.as_deref().unwrap_or_default();
        match req.operator.as_str() {
            "In" => value.is_some_and(|v| values.contains(v)),
            "NotIn" => value.is_none_or(|v| !values.contains(v)),
            "Exists" => value.is_some(),
            "DoesNotExist" => value.is_none(),
            _ => false,
        }
    });
    labels_ok && exprs_ok
}

// ---- StatefulSet ----

fn non_negative(v: Option<i32>, field: &str, errs: &mut Vec<FieldError>) {
    if let Some(v) = v.filter(|v| *v < 0) {
        errs.push(FieldError::invalid(field, v, "must be greater than or equal to 0"));
    }
}

fn validate_statefulset(set: &StatefulSet, errs: &mut Vec<FieldError>) {
    let Some(spec) = set.spec.as_ref() else {
        errs.push(FieldError::required("spec", ""));
        return;
    };
    if let Some(p) = spec.pod_management_policy.as_deref().filter(|p| !p.is_empty())
        && !matches!(p, "OrderedReady" | "Parallel")
    {
        errs.push(FieldError::invalid(
            "spec.podManagementPolicy",
            format!("{p:?}"),
            "must be 'OrderedReady' or 'Parallel'",
        ));
    }
    if let Some(strategy) = &spec.update_strategy {
        match strategy.type_.as_deref().unwrap_or("") {
            "OnDelete" if strategy.rolling_update.is_some() => errs.push(FieldError::invalid(
                "spec.updateStrategy.rollingUpdate",
                json(&strategy.rolling_update),
                "only allowed for updateStrategy 'RollingUpdate'",
            )),
            "OnDelete" => {}
            "" | "RollingUpdate" => {
                if let Some(ru) = &strategy.rolling_update {
                    non_negative(ru.partition, "spec.updateStrategy.rollingUpdate.partition", errs);
                    if let Some(mu) = &ru.max_unavailable {
                        validate_max_unavailable(mu, errs);
                    }
                }
            }
            t => errs.push(FieldError::invalid(
                "spec.updateStrategy",
                json(strategy),
                &format!("must be 'RollingUpdate' or 'OnDelete' (found {t:?})"),
            )),
        }
    }
    if let Some(policy) = &spec.persistent_volume_claim_retention_policy {
        for (value, name) in [(&policy.when_deleted, "whenDeleted"), (&policy.when_scaled, "whenScaled")] {
            if let Some(v) = value.as_deref().filter(|v| !v.is_empty())
                && !matches!(v, "Retain" | "Delete")
            {
                errs.push(FieldError::not_supported(
                    format!("spec.persistentVolumeClaimRetentionPolicy.{name}"),
                    v,
                    &["Retain", "Delete"],
                ));
            }
        }
    }
    non_negative(spec.replicas, "spec.replicas", errs);
    non_negative(spec.min_ready_seconds, "spec.minReadySeconds", errs);
    non_negative(spec.ordinals.as_ref().and_then(|o| o.start), "spec.ordinals.start", errs);
    non_negative(spec.revision_history_limit, "spec.revisionHistoryLimit", errs);
    if let Some(svc) = spec.service_name.as_deref().filter(|s| !s.is_empty()) {
        let problems = dns1123_label(svc);
        if !problems.is_empty() {
            errs.push(FieldError::invalid("spec.serviceName", format!("{svc:?}"), &problems.join("; ")));
        }
    }

    let sel = &spec.selector;
    if selector_is_nil(sel) {
        errs.push(FieldError::required("spec.selector", ""));
    } else {
        validate_selector(sel, "spec.selector", errs);
        if selector_is_empty(sel) {
            errs.push(FieldError::invalid("spec.selector", json(sel), "empty selector is invalid for statefulset"));
        }
    }
    let template = &spec.template;
    let labels = template.metadata.as_ref().and_then(|m| m.labels.clone()).unwrap_or_default();
    // A nil selector selects nothing (so it cannot match the template); an empty one, everything.
    if selector_is_nil(sel) || (!selector_is_empty(sel) && !selector_matches(sel, &labels)) {
        errs.push(FieldError::invalid(
            "spec.template.metadata.labels",
            json(&labels),
            "`selector` does not match template `labels`",
        ));
    }
    validate_labels(template.metadata.as_ref().and_then(|m| m.labels.as_ref()), "spec.template.metadata.labels", errs);

    let mut claim_names = BTreeSet::new();
    for (i, claim) in spec.volume_claim_templates.iter().flatten().enumerate() {
        let field = format!("spec.volumeClaimTemplates[{i}].metadata.name");
        match claim.metadata.name.as_deref().filter(|n| !n.is_empty()) {
            None => errs.push(FieldError::required(field, "")),
            Some(name) => {
                let problems = dns1123_label(name);
                if !problems.is_empty() {
                    errs.push(FieldError::invalid(field, format!("{name:?}"), &problems.join("; ")));
                } else if !claim_names.insert(name.to_string()) {
                    errs.push(FieldError::duplicate(field, name));
                }
            }
        }
        match &claim.spec {
            Some(spec) => validate_claim_spec(spec, &format!("spec.volumeClaimTemplates[{i}].spec"), errs),
            None => errs.push(FieldError::required(format!("spec.volumeClaimTemplates[{i}].spec"), "")),
        }
    }
    match &template.spec {
        None => errs.push(FieldError::required("spec.template.spec.containers", "")),
        Some(pod) => validate_template_pod_spec(pod, &claim_names, errs),
    }
}

fn validate_max_unavailable(mu: &IntOrString, errs: &mut Vec<FieldError>) {
    let field = "spec.updateStrategy.rollingUpdate.maxUnavailable";
    match mu {
        IntOrString::Int(i) if *i < 1 => errs.push(FieldError::invalid(field, i, "must be greater than 0")),
        IntOrString::Int(_) => {}
        IntOrString::String(s) => match s.strip_suffix('%').and_then(|p| p.parse::<i32>().ok()) {
            None => errs.push(FieldError::invalid(field, format!("{s:?}"), "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')")),
            Some(p) if !(1..=100).contains(&p) => {
                errs.push(FieldError::invalid(field, format!("{s:?}"), "must be greater than 0 and no more than 100%"))
            }
            Some(_) => {}
        },
    }
}

fn validate_template_pod_spec(pod: &PodSpec, claim_names: &BTreeSet<String>, errs: &mut Vec<FieldError>) {
    let base = "spec.template.spec";
    if let Some(policy) = pod.restart_policy.as_deref().filter(|p| !p.is_empty())
        && policy != "Always"
    {
        errs.push(FieldError::not_supported(format!("{base}.restartPolicy"), policy, &["Always"]));
    }
    if pod.active_deadline_seconds.is_some() {
        errs.push(FieldError::forbidden(
            format!("{base}.activeDeadlineSeconds"),
            "activeDeadlineSeconds in StatefulSet is not Supported",
        ));
    }
    let mut volumes: BTreeSet<String> = claim_names.clone();
    for (i, v) in pod.volumes.iter().flatten().enumerate() {
        let field = format!("{base}.volumes[{i}].name");
        if v.name.is_empty() {
            errs.push(FieldError::required(field, ""));
            continue;
        }
        let problems = dns1123_label(&v.name);
        if !problems.is_empty() {
            errs.push(FieldError::invalid(field.clone(), format!("{:?}", v.name), &problems.join("; ")));
        }
        // A claim template overrides a same-named volume (the controller's updateStorage).
        if !volumes.insert(v.name.clone()) && !claim_names.contains(&v.name) {
            errs.push(FieldError::duplicate(field, &v.name));
        }
    }
    if pod.containers.is_empty() {
        errs.push(FieldError::required(format!("{base}.containers"), ""));
    }
    let mut names = BTreeSet::new();
    for (list, containers) in
        [("initContainers", pod.init_containers.as_deref().unwrap_or_default()), ("containers", &pod.containers)]
    {
        for (i, c) in containers.iter().enumerate() {
            validate_container(c, &format!("{base}.{list}[{i}]"), &volumes, &mut names, errs);
        }
    }
}

fn validate_container(
    c: &Container,
    field: &str,
    volumes: &BTreeSet<String>,
    names: &mut BTreeSet<String>,
    errs: &mut Vec<FieldError>,
) {
    if c.name.is_empty() {
        errs.push(FieldError::required(format!("{field}.name"), ""));
    } else {
        let problems = dns1123_label(&c.name);
        if !problems.is_empty() {
            errs.push(FieldError::invalid(format!("{field}.name"), format!("{:?}", c.name), &problems.join("; ")));
        } else if !names.insert(c.name.clone()) {
            errs.push(FieldError::duplicate(format!("{field}.name"), &c.name));
        }
    }
    if c.image.as_deref().is_none_or(|i| i.trim().is_empty()) {
        errs.push(FieldError::required(format!("{field}.image"), ""));
    }
    for (i, p) in c.ports.iter().flatten().enumerate() {
        if !(1..=65535).contains(&p.container_port) {
            errs.push(FieldError::invalid(
                format!("{field}.ports[{i}].containerPort"),
                p.container_port,
                "must be between 1 and 65535, inclusive",
            ));
        }
        if let Some(name) = p.name.as_deref().filter(|n| !n.is_empty()) {
            let problems = iana_svc_name(name);
            if !problems.is_empty() {
                errs.push(FieldError::invalid(
                    format!("{field}.ports[{i}].name"),
                    format!("{name:?}"),
                    &problems.join(", "),
                ));
            }
        }
    }
    for (i, m) in c.volume_mounts.iter().flatten().enumerate() {
        let f = format!("{field}.volumeMounts[{i}]");
        if m.name.is_empty() {
            errs.push(FieldError::required(format!("{f}.name"), ""));
        } else if !volumes.contains(&m.name) {
            errs.push(FieldError::not_found(format!("{f}.name"), &m.name));
        }
        if m.mount_path.is_empty() {
            errs.push(FieldError::required(format!("{f}.mountPath"), ""));
        }
    }
}

// ---- Service ----

fn validate_service(svc: &Service, errs: &mut Vec<FieldError>) {
    let Some(spec) = svc.spec.as_ref() else {
        errs.push(FieldError::required("spec", ""));
        return;
    };
    let ty = spec.type_.as_deref().unwrap_or("");
    let ip = spec.cluster_ip.as_deref().unwrap_or("");
    let headless = ip == "None";
    match ty {
        "" | "ClusterIP" | "NodePort" | "LoadBalancer" => {}
        "ExternalName" => {
            match spec.external_name.as_deref().filter(|n| !n.is_empty()) {
                None => errs.push(FieldError::required("spec.externalName", "")),
                Some(name) => {
                    let problems = dns1123_subdomain(name.strip_suffix('.').unwrap_or(name));
                    if !problems.is_empty() {
                        errs.push(FieldError::invalid("spec.externalName", format!("{name:?}"), &problems.join("; ")));
                    }
                }
            }
            if !ip.is_empty() {
                errs.push(FieldError::forbidden("spec.clusterIP", "may not be set for ExternalName services"));
            }
        }
        other => errs.push(FieldError::not_supported(
            "spec.type",
            other,
            &["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"],
        )),
    }
    if !ip.is_empty() && !headless && ip.parse::<IpAddr>().is_err() {
        errs.push(FieldError::invalid(
            "spec.clusterIP",
            format!("{ip:?}"),
            "must be empty, 'None', or a valid IP address",
        ));
    }
    if headless && matches!(ty, "NodePort" | "LoadBalancer") {
        errs.push(FieldError::invalid(
            "spec.clusterIP",
            "\"None\"",
            &format!("may not be set to 'None' for {ty} services"),
        ));
    }
    if let Some(first) = spec.cluster_ips.as_ref().and_then(|ips| ips.first())
        && !ip.is_empty()
        && first != ip
    {
        errs.push(FieldError::invalid(
            "spec.clusterIPs[0]",
            format!("{first:?}"),
            "must match `clusterIP` if specified",
        ));
    }
    for (i, v) in spec.cluster_ips.iter().flatten().enumerate() {
        if v != "None" && v.parse::<IpAddr>().is_err() {
            errs.push(FieldError::invalid(
                format!("spec.clusterIPs[{i}]"),
                format!("{v:?}"),
                "must be a valid IP address",
            ));
        }
    }
    if let Some(a) = spec.session_affinity.as_deref().filter(|a| !a.is_empty())
        && !matches!(a, "ClientIP" | "None")
    {
        errs.push(FieldError::not_supported("spec.sessionAffinity", a, &["ClientIP", "None"]));
    }
    validate_labels(spec.selector.as_ref(), "spec.selector", errs);

    let ports = spec.ports.as_deref().unwrap_or_default();
    if ports.is_empty() && !headless && ty != "ExternalName" {
        errs.push(FieldError::required("spec.ports", ""));
    }
    let mut names = BTreeSet::new();
    for (i, p) in ports.iter().enumerate() {
        let f = format!("spec.ports[{i}]");
        match p.name.as_deref().filter(|n| !n.is_empty()) {
            None if ports.len() > 1 => errs.push(FieldError::required(format!("{f}.name"), "")),
            None => {}
            Some(name) => {
                let problems = dns1123_label(name);
                if !problems.is_empty() {
                    errs.push(FieldError::invalid(format!("{f}.name"), format!("{name:?}"), &problems.join("; ")));
                } else if !names.insert(name.to_string()) {
                    errs.push(FieldError::duplicate(format!("{f}.name"), name));
                }
            }
        }
        if !(1..=65535).contains(&p.port) {
            errs.push(FieldError::invalid(format!("{f}.port"), p.port, "must be between 1 and 65535, inclusive"));
        }
        if let Some(proto) = p.protocol.as_deref().filter(|p| !p.is_empty())
            && !matches!(proto, "TCP" | "UDP" | "SCTP")
        {
            errs.push(FieldError::not_supported(format!("{f}.protocol"), proto, &["SCTP", "TCP", "UDP"]));
        }
        match &p.target_port {
            Some(IntOrString::Int(t)) if !(1..=65535).contains(t) => {
                errs.push(FieldError::invalid(format!("{f}.targetPort"), t, "must be between 1 and 65535, inclusive"))
            }
            Some(IntOrString::String(s)) => {
                let problems = iana_svc_name(s);
                if !problems.is_empty() {
                    errs.push(FieldError::invalid(format!("{f}.targetPort"), format!("{s:?}"), &problems.join(", ")));
                }
            }
            _ => {}
        }
        if let Some(np) = p.node_port.filter(|np| !(0..=65535).contains(np)) {
            errs.push(FieldError::invalid(format!("{f}.nodePort"), np, "must be between 1 and 65535, inclusive"));
        }
    }
}

// ---- claims ----

/// What a PersistentVolumeClaim (or a claim template, whose claims the controller creates)
/// needs: an access mode and a storage request, both well formed.
fn validate_claim_spec(spec: &PersistentVolumeClaimSpec, field: &str, errs: &mut Vec<FieldError>) {
    let modes = spec.access_modes.as_deref().unwrap_or_default();
    if modes.is_empty() {
        errs.push(FieldError::required(format!("{field}.accessModes"), "at least 1 access mode is required"));
    }
    const MODES: [&str; 4] = ["ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"];
    for m in modes {
        if !MODES.contains(&m.as_str()) {
            errs.push(FieldError::not_supported(format!("{field}.accessModes"), m, &MODES));
        }
    }
    let resources = spec.resources.as_ref();
    let requests = resources.and_then(|r| r.requests.as_ref());
    if requests.is_none_or(|r| !r.contains_key("storage")) {
        errs.push(FieldError::required(format!("{field}.resources[storage]"), ""));
    }
    for (kind, list) in [("requests", requests), ("limits", resources.and_then(|r| r.limits.as_ref()))] {
        for (name, q) in list.into_iter().flatten() {
            if !is_quantity(&q.0) {
                errs.push(FieldError::invalid(
                    format!("{field}.resources.{kind}[{name}]"),
                    format!("{:?}", q.0),
                    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
                ));
            }
        }
    }
}

/// `resource.ParseQuantity`'s grammar: a signed decimal number, then an optional binary-SI
/// (Ki Mi Gi Ti Pi Ei), decimal-SI (n u m k M G T P E) or exponent (e3, E-2) suffix.
fn is_quantity(s: &str) -> bool {
    let s = s.strip_prefix(['+', '-']).unwrap_or(s);
    let number_len = s.bytes().take_while(|c| c.is_ascii_digit() || *c == b'.').count();
    let (number, suffix) = s.split_at(number_len);
    if number.is_empty() || number == "." || number.matches('.').count() > 1 {
        return false;
    }
    match suffix {
        "" | "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei" | "n" | "u" | "m" | "k" | "M" | "G" | "T" | "P" | "E" => true,
        _ => {
            let Some(exp) = suffix.strip_prefix(['e', 'E']) else {
                return false;
            };
            let exp = exp.strip_prefix(['+', '-']).unwrap_or(exp);
            !exp.is_empty() && exp.bytes().all(|c| c.is_ascii_digit())
        }
    }
}

// ---- what DNS answers are built from: pod identity, endpoints ----

fn validate_ip(ip: &str, field: String, errs: &mut Vec<FieldError>) {
    if ip.parse::<IpAddr>().is_err() {
        errs.push(FieldError::invalid(
            field,
            format!("{ip:?}"),
            "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
        ));
    }
}

fn validate_label_field(value: Option<&str>, field: &str, errs: &mut Vec<FieldError>) {
    if let Some(v) = value.filter(|v| !v.is_empty()) {
        let problems = dns1123_label(v);
        if !problems.is_empty() {
            errs.push(FieldError::invalid(field, format!("{v:?}"), &problems.join("; ")));
        }
    }
}

/// A pod's DNS identity: hostname and subdomain are DNS labels, its IPs are IPs.
fn validate_pod_identity(pod: &Pod, errs: &mut Vec<FieldError>) {
    if let Some(spec) = &pod.spec {
        validate_label_field(spec.hostname.as_deref(), "spec.hostname", errs);
        validate_label_field(spec.subdomain.as_deref(), "spec.subdomain", errs);
    }
    if let Some(status) = &pod.status {
        if let Some(ip) = status.pod_ip.as_deref().filter(|ip| !ip.is_empty()) {
            validate_ip(ip, "status.podIP".into(), errs);
        }
        for (i, ip) in status.pod_ips.iter().flatten().enumerate() {
            validate_ip(&ip.ip, format!("status.podIPs[{i}].ip"), errs);
        }
    }
}

fn validate_endpoint_slice(slice: &EndpointSlice, errs: &mut Vec<FieldError>) {
    let ty = slice.address_type.as_str();
    if !matches!(ty, "IPv4" | "IPv6" | "FQDN") {
        errs.push(FieldError::not_supported("addressType", ty, &["FQDN", "IPv4", "IPv6"]));
    }
    for (i, ep) in slice.endpoints.iter().enumerate() {
        let field = format!("endpoints[{i}]");
        if ep.addresses.is_empty() || ep.addresses.len() > 100 {
            errs.push(FieldError::invalid(
                format!("{field}.addresses"),
                ep.addresses.len(),
                "must have at least 1 and at most 100 addresses",
            ));
        }
        for (j, addr) in ep.addresses.iter().enumerate() {
            let f = format!("{field}.addresses[{j}]");
            match ty {
                "IPv4" if addr.parse::<std::net::Ipv4Addr>().is_err() => {
                    errs.push(FieldError::invalid(f, format!("{addr:?}"), "must be a valid IPv4 address"))
                }
                "IPv6" if addr.parse::<std::net::Ipv6Addr>().is_err() => {
                    errs.push(FieldError::invalid(f, format!("{addr:?}"), "must be a valid IPv6 address"))
                }
                "FQDN" => {
                    let problems = dns1123_subdomain(addr);
                    if !problems.is_empty() {
                        errs.push(FieldError::invalid(f, format!("{addr:?}"), &problems.join("; ")));
                    }
                }
                _ => {}
            }
        }
        validate_label_field(ep.hostname.as_deref(), &format!("{field}.hostname"), errs);
    }
    let mut names = BTreeSet::new();
    for (i, p) in slice.ports.iter().flatten().enumerate() {
        let field = format!("ports[{i}]");
        let name = p.name.as_deref().unwrap_or("");
        if !name.is_empty() {
            validate_label_field(Some(name), &format!("{field}.name"), errs);
        }
        if !names.insert(name) {
            errs.push(FieldError::duplicate(format!("{field}.name"), name));
        }
        if let Some(port) = p.port.filter(|p| !(1..=65535).contains(p)) {
            errs.push(FieldError::invalid(format!("{field}.port"), port, "must be between 1 and 65535, inclusive"));
        }
        validate_protocol(p.protocol.as_deref(), &format!("{field}.protocol"), errs);
    }
}

fn validate_endpoints(ep: &Endpoints, errs: &mut Vec<FieldError>) {
    for (i, subset) in ep.subsets.iter().flatten().enumerate() {
        let field = format!("subsets[{i}]");
        for (list, addrs) in [("addresses", &subset.addresses), ("notReadyAddresses", &subset.not_ready_addresses)] {
            for (j, a) in addrs.iter().flatten().enumerate() {
                validate_ip(&a.ip, format!("{field}.{list}[{j}].ip"), errs);
                validate_label_field(a.hostname.as_deref(), &format!("{field}.{list}[{j}].hostname"), errs);
            }
        }
        for (j, p) in subset.ports.iter().flatten().enumerate() {
            if !(1..=65535).contains(&p.port) {
                errs.push(FieldError::invalid(
                    format!("{field}.ports[{j}].port"),
                    p.port,
                    "must be between 1 and 65535, inclusive",
                ));
            }
            validate_protocol(p.protocol.as_deref(), &format!("{field}.ports[{j}].protocol"), errs);
        }
    }
}

fn validate_protocol(proto: Option<&str>, field: &str, errs: &mut Vec<FieldError>) {
    if let Some(proto) = proto.filter(|p| !p.is_empty())
        && !matches!(proto, "TCP" | "UDP" | "SCTP")
    {
        errs.push(FieldError::not_supported(field, proto, &["SCTP", "TCP", "UDP"]));
    }
}
