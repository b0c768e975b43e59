//! The resource types `ordinal ctl` knows: names and aliases as kubectl accepts
//! them, and their API paths (docs/control-api.md).

/// One resource type.
#[derive(Debug, PartialEq, Eq)]
pub struct Resource {
    /// `pods`, `statefulsets`, ...
    pub plural: &'static str,
    /// `Pod`, `StatefulSet`, ...
    pub kind: &'static str,
    /// `""` for core, `apps`, `discovery.k8s.io`.
    pub group: &'static str,
    /// `v1`.
    pub version: &'static str,
    pub namespaced: bool,
    aliases: &'static [&'static str],
}

impl Resource {
    /// `pod`, `statefulset.apps`: how kubectl names the type in messages.
    pub fn qualified(&self) -> String {
        let singular = self.kind.to_ascii_lowercase();
        if self.group.is_empty() { singular } else { format!("{singular}.{}", self.group) }
    }

    /// `/api/v1` or `/apis/apps/v1`.
    fn prefix(&self) -> String {
        if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        }
    }

    /// The collection path: namespaced, or across all namespaces when `ns` is `None`.
    pub fn collection_path(&self, ns: Option<&str>) -> String {
        match ns {
            Some(ns) if self.namespaced => format!("{}/namespaces/{}/{}", self.prefix(), ns, self.plural),
            _ => format!("{}/{}", self.prefix(), self.plural),
        }
    }

    /// The path of one object.
    pub fn object_path(&self, ns: &str, name: &str) -> String {
        format!("{}/{}", self.collection_path(Some(ns)), encode(name))
    }
}

macro_rules! res {
    ($plural:expr, $kind:expr, $group:expr, $ns:expr, [$($a:expr),*]) => {
        Resource { plural: $plural, kind: $kind, group: $group, version: "v1", namespaced: $ns, aliases: &[$($a),*] }
    };
}

/// Every resource type, in the order `get` help lists them.
pub static RESOURCES: &[Resource] = &[
    res!("statefulsets", "StatefulSet", "apps", true, ["statefulset", "sts", "statefulsets.apps", "statefulset.apps"]),
    res!("pods", "Pod", "", true, ["pod", "po"]),
    res!("persistentvolumeclaims", "PersistentVolumeClaim", "", true, ["persistentvolumeclaim", "pvc", "pvcs"]),
    res!("services", "Service", "", true, ["service", "svc"]),
    res!(
        "endpointslices",
        "EndpointSlice",
        "discovery.k8s.io",
        true,
        ["endpointslice", "endpointslices.discovery.k8s.io", "endpointslice.discovery.k8s.io"]
    ),
    res!(
        "controllerrevisions",
        "ControllerRevision",
        "apps",
        true,
        ["controllerrevision", "controllerrevisions.apps", "controllerrevision.apps"]
    ),
    res!("events", "Event", "", true, ["event", "ev"]),
    res!("namespaces", "Namespace", "", false, ["namespace", "ns"]),
];

/// Looks a resource type up by plural, singular, short name or `kind.group` (case-insensitive).
pub fn lookup(word: &str) -> Option<&'static Resource> {
    let w = word.to_ascii_lowercase();
    RESOURCES.iter().find(|r| r.plural == w || r.aliases.contains(&w.as_str()))
}

/// RFC 1123 label (namespaces).
pub fn is_dns1123_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// Percent-encodes a path segment or query value (unreserved characters pass).
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_and_paths() {
        assert_eq!(lookup("sts").unwrap().plural, "statefulsets");
        assert_eq!(lookup("PO").unwrap().plural, "pods");
        assert_eq!(lookup("pvc").unwrap().kind, "PersistentVolumeClaim");
        assert!(lookup("foo").is_none());
        let sts = lookup("statefulset").unwrap();
        assert_eq!(sts.object_path("default", "web"), "/apis/apps/v1/namespaces/default/statefulsets/web");
        assert_eq!(sts.collection_path(None), "/apis/apps/v1/statefulsets");
        assert_eq!(sts.qualified(), "statefulset.apps");
        assert_eq!(lookup("po").unwrap().collection_path(Some("p1-dev")), "/api/v1/namespaces/p1-dev/pods");
        assert_eq!(lookup("ns").unwrap().collection_path(Some("x")), "/api/v1/namespaces");
        assert_eq!(lookup("endpointslices").unwrap().qualified(), "endpointslice.discovery.k8s.io");
        assert_eq!(encode("app in (a,b)"), "app%20in%20%28a%2Cb%29");
    }
}
