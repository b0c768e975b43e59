//! Kubernetes manifests from files: discovery, decoding, API-server-like validation, watching.
//!
//! This module owns everything between a path on disk and typed `k8s-openapi` objects:
//!
//! - [`discover`] expands files and directories the way `kubectl apply -f` does (a directory
//!   is read non-recursively; `*.yaml`, `*.yml`, `*.json`; sorted; dotfiles skipped so editor
//!   temporaries and lock files never load).
//! - [`load_file`] / [`load_str`] parse YAML multi-document streams and JSON (one object, a
//!   stream of objects, or a `kind: List` / `*List` dump as `kubectl get -o yaml|json` writes),
//!   decode each object into its typed form ([`Object`]), reject fields the type does not know
//!   (strict decoding, as `kubectl apply` does by default), convert legacy `apps/v1beta1` and
//!   `apps/v1beta2` StatefulSets to `apps/v1`, and run [`validate`]. A file is all-or-nothing:
//!   any error and the caller gets only the errors, every one of them with its line:
//!   `kubia.yaml:21: StatefulSet.apps "kubia" is invalid: spec.selector: Required value`.
//!   YAML scalars resolve as kubectl reads them (go-yaml v2, YAML 1.1: `0755` is octal, an
//!   unquoted `yes`/`on`/`y` is a boolean), so a manifest means here what it means to kubectl.
//! - [`validate`] / [`validate_update`] mirror the API server's create and update validation
//!   for the kinds `ordinal` serves and runs: names, StatefulSet and Service specs, claims
//!   (templates), and what DNS answers are built from (pod hostname/subdomain, pod and
//!   endpoint addresses).
//! - [`watch`] reports, debounced, which manifest files changed.
//!
//! Shape: the text is parsed once into a small located tree (`tree.rs`: built from the YAML
//! parser's events, every node knows its line, so block and flow style and JSON all locate
//! alike). Typed objects are decoded straight from the tree by a serde `Deserializer` that tracks
//! the field path (for errors) and records every field the type skipped (the unknown fields) in
//! the same pass (`de.rs`). Any field path — from a decode error, an unknown field or a
//! validation error — is located in the tree. The items of a `List` are decoded one by one as
//! the parser completes them, so a 10,000-object dump is never held as one tree (40 MB, 12,000
//! objects: about 1 s of CPU in a release build).
//!
//! Unknown fields are errors for StatefulSets (what the user writes and `ordinal` runs) and
//! warnings for every other kind, so that a dump of a newer cluster (new Pod, Service or
//! EndpointSlice fields) still replays. Warnings are logged at WARN by the loader, once per file
//! and field (with a count of the objects that repeat it), and kept in [`Document::warnings`] for
//! callers that show them elsewhere (they need not log them again).
//!
//! Not here: apps/v1 *defaulting* (`crate::statefulset::defaults`), namespace defaulting
//! (an object without `metadata.namespace` keeps `None`; the caller applies its default).

mod de;
mod load;
mod tree;
mod validate;
mod watch;

use std::fmt;
use std::path::PathBuf;

use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
use k8s_openapi::api::core::v1::{Endpoints, Namespace, PersistentVolumeClaim, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

pub use load::{discover, load_file, load_str};
pub use validate::{FieldError, FieldErrorKind, invalid_message, validate, validate_update};
pub use watch::{DEBOUNCE as WATCH_DEBOUNCE, ManifestWatcher, watch};

/// A decoded Kubernetes object. StatefulSets are always `apps/v1` (legacy versions converted).
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum Object {
    Namespace(Namespace),
    Service(Service),
    /// discovery.k8s.io/v1
    EndpointSlice(EndpointSlice),
    Endpoints(Endpoints),
    Pod(Pod),
    StatefulSet(StatefulSet),
    PersistentVolumeClaim(PersistentVolumeClaim),
    ControllerRevision(ControllerRevision),
    /// Any other kind: identity only (callers ignore these with a debug log).
    Other {
        api_version: String,
        kind: String,
        namespace: Option<String>,
        name: String,
    },
}

impl Object {
    pub fn kind(&self) -> &str {
        match self {
            Object::Namespace(_) => "Namespace",
            Object::Service(_) => "Service",
            Object::EndpointSlice(_) => "EndpointSlice",
            Object::Endpoints(_) => "Endpoints",
            Object::Pod(_) => "Pod",
            Object::StatefulSet(_) => "StatefulSet",
            Object::PersistentVolumeClaim(_) => "PersistentVolumeClaim",
            Object::ControllerRevision(_) => "ControllerRevision",
            Object::Other { kind, .. } => kind,
        }
    }

    pub fn api_version(&self) -> &str {
        match self {
            Object::EndpointSlice(_) => "discovery.k8s.io/v1",
            Object::StatefulSet(_) | Object::ControllerRevision(_) => "apps/v1",
            Object::Other { api_version, .. } => api_version,
            _ => "v1",
        }
    }

    /// The object's metadata (`None` for [`Object::Other`]).
    pub fn metadata(&self) -> Option<&ObjectMeta> {
        Some(match self {
            Object::Namespace(o) => &o.metadata,
            Object::Service(o) => &o.metadata,
            Object::EndpointSlice(o) => &o.metadata,
            Object::Endpoints(o) => &o.metadata,
            Object::Pod(o) => &o.metadata,
            Object::StatefulSet(o) => &o.metadata,
            Object::PersistentVolumeClaim(o) => &o.metadata,
            Object::ControllerRevision(o) => &o.metadata,
            Object::Other { .. } => return None,
        })
    }

    /// `metadata.name` ("" when absent).
    pub fn name(&self) -> &str {
        match self {
            Object::Other { name, .. } => name,
            _ => self.metadata().and_then(|m| m.name.as_deref()).unwrap_or(""),
        }
    }

    /// `metadata.namespace` as written (no defaulting).
    pub fn namespace(&self) -> Option<&str> {
        match self {
            Object::Other { namespace, .. } => namespace.as_deref(),
            _ => self.metadata().and_then(|m| m.namespace.as_deref()),
        }
    }

    /// Kind qualified by group as the API server names it in errors: `StatefulSet.apps`,
    /// `EndpointSlice.discovery.k8s.io`, `Service` (core group).
    pub fn qualified_kind(&self) -> String {
        qualified_kind(self.api_version(), self.kind())
    }
}

pub(crate) fn qualified_kind(api_version: &str, kind: &str) -> String {
    match api_version.rsplit_once('/') {
        Some((group, _)) => format!("{kind}.{group}"),
        None => kind.to_string(),
    }
}

/// One object from a manifest file.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub file: PathBuf,
    /// 1-based line where the object starts (its first key; for `List` items, the item).
    pub line: usize,
    pub object: Object,
    /// Non-fatal findings (unknown fields in kinds other than StatefulSet). Already logged.
    pub warnings: Vec<ManifestError>,
}

/// An error a user can fix in a manifest file.
///
/// Displays as `FILE:LINE: OBJECT: FIELD: MESSAGE`, each part present when known, e.g.
/// `kubia.yaml:21: StatefulSet.apps "kubia" is invalid: spec.selector: Required value` or
/// `web.yaml:23: Service "nginx": spec.ports[0].port: invalid type: string "abc", expected i32`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ManifestError {
    pub file: PathBuf,
    /// 1-based line.
    pub line: Option<usize>,
    /// Field path as the API server writes it, e.g. `spec.ports[0].port`.
    pub field: Option<String>,
    pub message: String,
    /// The object the error is about, API-server style: `StatefulSet.apps "kubia" is invalid`
    /// for validation errors, `Service "nginx"` for decode errors.
    pub object: Option<String>,
}

impl ManifestError {
    pub(crate) fn new(file: &std::path::Path, line: Option<usize>, message: impl Into<String>) -> Self {
        ManifestError { file: file.to_path_buf(), line, field: None, message: message.into(), object: None }
    }
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(object) = &self.object {
            write!(f, ": {object}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": {field}")?;
        }
        write!(f, ": {}", self.message)
    }
}
