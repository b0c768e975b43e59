//! The simulated kubelet (and the bit of scheduler and node-lifecycle controller it needs).
//!
//! Pods are bound round-robin to nodes `node-0..N-1` (skipping lost nodes) when created. Each
//! pod then moves Pending → Running (pod IP from `--pod-cidr`, host IP) after the start delay →
//! Ready after the ready delay; delays come from the flags or the annotations
//! `ordinal.dev/start-delay` / `ordinal.dev/ready-delay` (Go durations) on the pod (its
//! template) or its StatefulSet. A terminating pod is removed after
//! `min(grace, --kubelet-max-grace)`. Each transition is a timer (`Cluster::after`, tokio time)
//! that sends a step to the cluster task; a step re-checks the pod (same uid, same state) so
//! stale timers do nothing. Failure injection (`/ordinal/v1/inject`) lives here too.
//!
//! Node state (lost nodes) is in memory only: a restart brings every node back.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::time::Duration;

use serde_json::{Value, json};

use super::store::{Key, Kind, meta_mut, now_rfc3339};
use super::{ApiError, Cluster, Config, Ipam};

pub const START_DELAY_ANNOTATION: &str = "ordinal.dev/start-delay";
pub const READY_DELAY_ANNOTATION: &str = "ordinal.dev/ready-delay";

/// Kubelet and node state.
#[derive(Debug)]
pub struct Kubelet {
    nodes: usize,
    next_node: usize,
    lost: BTreeSet<String>,
    pod_ips: Ipam,
}

impl Kubelet {
    pub fn new(cfg: &Config) -> Kubelet {
        Kubelet { nodes: cfg.nodes.max(1), next_node: 0, lost: BTreeSet::new(), pod_ips: Ipam::new(cfg.pod_cidr) }
    }

    pub fn is_lost(&self, pod: &Value) -> bool {
        pod.pointer("/spec/nodeName").and_then(Value::as_str).is_some_and(|n| self.lost.contains(n))
    }

    fn host_ip(node: &str) -> String {
        let i: u8 = node.strip_prefix("node-").and_then(|n| n.parse().ok()).unwrap_or(0);
        Ipv4Addr::new(172, 18, 0, 2u8.saturating_add(i)).to_string()
    }
}

/// Parses a Go duration (`300ms`, `2s`, `1m30s`, `1.5s`, `0`) for the delay annotations.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    crate::duration::parse_go_duration(s).map_err(|_| format!("{s:?} is not a duration (e.g. 300ms, 2s, 1m30s)"))
}

fn set_condition(pod: &mut Value, type_: &str, status: &str) {
    let now = now_rfc3339();
    if !pod.pointer("/status/conditions").is_some_and(Value::is_array) {
        pod["status"]["conditions"] = json!([]);
    }
    let conds = pod["status"]["conditions"].as_array_mut().expect("array");
    match conds.iter_mut().find(|c| c["type"] == type_) {
        Some(c) => {
            if c["status"] != status {
                c["status"] = json!(status);
                c["lastTransitionTime"] = json!(now);
            }
        }
        None => conds.push(json!({"type": type_, "status": status, "lastTransitionTime": now})),
    }
}

fn set_containers_ready(pod: &mut Value, ready: bool) {
    if let Some(cs) = pod.pointer_mut("/status/containerStatuses").and_then(Value::as_array_mut) {
        for c in cs {
            c["ready"] = json!(ready);
        }
    }
}

fn phase(pod: &Value) -> &str {
    pod.pointer("/status/phase").and_then(Value::as_str).unwrap_or("")
}

fn terminating(pod: &Value) -> bool {
    pod.pointer("/metadata/deletionTimestamp").is_some()
}

fn ready_status(pod: &Value) -> &str {
    pod.pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|cs| cs.iter().find(|c| c["type"] == "Ready"))
        .and_then(|c| c["status"].as_str())
        .unwrap_or("")
}

impl Cluster {
    /// Picks the node for a new pod.
    pub(crate) fn schedule_node(&mut self) -> String {
        let k = &mut self.kubelet;
        for _ in 0..k.nodes {
            let node = format!("node-{}", k.next_node % k.nodes);
            k.next_node = (k.next_node + 1) % k.nodes;
            if !k.lost.contains(&node) {
                return node;
            }
        }
        let node = format!("node-{}", k.next_node % k.nodes);
        k.next_node = (k.next_node + 1) % k.nodes;
        node
    }

    /// After replay: re-reserve pod IPs and restart every pod's pending transition.
    pub(crate) fn kubelet_boot(&mut self) {
        let pods: Vec<(Key, Value)> =
            self.store.list(Kind::Pod, None).map(|v| (Key::of(v).expect("stored"), v.clone())).collect();
        for (_, v) in &pods {
            if let Some(ip) = v.pointer("/status/podIP").and_then(Value::as_str).and_then(|s| s.parse().ok()) {
                self.kubelet.pod_ips.reserve(ip);
            }
        }
        for (key, _) in pods {
            self.kubelet_track(&key);
        }
    }

    /// Schedules the next lifecycle step of a pod according to its state.
    pub(crate) fn kubelet_track(&mut self, key: &Key) {
        let Some(v) = self.store.get_key(key) else { return };
        let uid = v.pointer("/metadata/uid").and_then(Value::as_str).unwrap_or("").to_string();
        if terminating(v) {
            let grace = v.pointer("/metadata/deletionGracePeriodSeconds").and_then(Value::as_i64).unwrap_or(0);
            self.kubelet_terminate(key, uid, grace);
            return;
        }
        let (start, ready) = self.pod_delays(v);
        let key = key.clone();
        match phase(v) {
            "Pending" | "" => self.after(start, move |c| c.kubelet_start(&key, &uid)),
            "Running" if ready_status(v) == "False" => self.after(ready, move |c| c.kubelet_ready(&key, &uid)),
            _ => {}
        }
    }

    /// Schedules removal of a terminating pod.
    pub(crate) fn kubelet_terminate(&mut self, key: &Key, uid: String, grace: i64) {
        let d = Duration::from_secs(grace.max(0) as u64).min(self.cfg.max_grace);
        let key = key.clone();
        self.after(d, move |c| c.kubelet_finish(&key, &uid));
    }

    /// A pod is gone: release its IP.
    pub(crate) fn kubelet_forget(&mut self, pod: &Value) {
        if let Some(ip) = pod.pointer("/status/podIP").and_then(Value::as_str).and_then(|s| s.parse().ok()) {
            self.kubelet.pod_ips.release(ip);
        }
    }

    fn pod_delays(&self, pod: &Value) -> (Duration, Duration) {
        let owner = pod
            .pointer("/metadata/ownerReferences")
            .and_then(Value::as_array)
            .and_then(|rs| rs.iter().find(|r| r["kind"] == "StatefulSet" && r["controller"] == true))
            .and_then(|r| r["name"].as_str())
            .and_then(|name| {
                self.store.get(
                    Kind::StatefulSet,
                    pod.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or(""),
                    name,
                )
            });
        let lookup = |ann: &str| -> Option<Duration> {
            let p = format!("/metadata/annotations/{}", ann.replace('/', "~1"));
            let from = |v: Option<&Value>, path: &str| {
                v.and_then(|v| v.pointer(path)).and_then(Value::as_str).and_then(|s| parse_duration(s).ok())
            };
            from(Some(pod), &p).or_else(|| from(owner, &p)).or_else(|| from(owner, &format!("/spec/template{p}")))
        };
        (
            lookup(START_DELAY_ANNOTATION).unwrap_or(self.cfg.start_delay),
            lookup(READY_DELAY_ANNOTATION).unwrap_or(self.cfg.ready_delay),
        )
    }

    fn live_pod(&self, key: &Key, uid: &str) -> Option<Value> {
        let v = self.store.get_key(key)?;
        (v.pointer("/metadata/uid").and_then(Value::as_str) == Some(uid)).then(|| v.clone())
    }

    fn write_pod(&mut self, mut v: Value) -> Option<Value> {
        meta_mut(&mut v).remove("resourceVersion");
        match self.update(v) {
            Ok(v) => Some(v),
            Err(e) => {
                tracing::warn!(error = %e.message, "kubelet pod status write failed");
                None
            }
        }
    }

    fn kubelet_start(&mut self, key: &Key, uid: &str) {
        let Some(mut v) = self.live_pod(key, uid) else { return };
        if phase(&v) != "Pending" || terminating(&v) || self.kubelet.is_lost(&v) {
            return;
        }
        let Some(ip) = self.kubelet.pod_ips.allocate() else {
            tracing::error!("the pod CIDR is exhausted (--pod-cidr); pod stays Pending");
            return;
        };
        let node = v.pointer("/spec/nodeName").and_then(Value::as_str).unwrap_or("node-0").to_string();
        let now = now_rfc3339();
        let containers: Vec<Value> = v
            .pointer("/spec/containers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|c| {
                json!({"name": c["name"], "image": c["image"], "imageID": "", "ready": false, "started": true,
                    "restartCount": 0, "state": {"running": {"startedAt": now}}})
            })
            .collect();
        v["status"]["phase"] = json!("Running");
        v["status"]["podIP"] = json!(ip.to_string());
        v["status"]["podIPs"] = json!([{"ip": ip.to_string()}]);
        v["status"]["hostIP"] = json!(Kubelet::host_ip(&node));
        v["status"]["hostIPs"] = json!([{"ip": Kubelet::host_ip(&node)}]);
        v["status"]["startTime"] = json!(now);
        v["status"]["containerStatuses"] = json!(containers);
        set_condition(&mut v, "Initialized", "True");
        set_condition(&mut v, "ContainersReady", "False");
        set_condition(&mut v, "Ready", "False");
        let (_, ready) = self.pod_delays(&v);
        let pod = v.clone();
        if self.write_pod(v).is_some() {
            self.record_event(
                &pod,
                "Normal",
                "Started",
                &format!(
                    "Started container {}",
                    pod.pointer("/spec/containers/0/name").and_then(Value::as_str).unwrap_or("")
                ),
                "kubelet",
            );
            let (key, uid) = (key.clone(), uid.to_string());
            self.after(ready, move |c| c.kubelet_ready(&key, &uid));
        } else {
            self.kubelet.pod_ips.release(ip);
        }
    }

    fn kubelet_ready(&mut self, key: &Key, uid: &str) {
        let Some(mut v) = self.live_pod(key, uid) else { return };
        if phase(&v) != "Running" || self.kubelet.is_lost(&v) || ready_status(&v) != "False" {
            return;
        }
        set_condition(&mut v, "ContainersReady", "True");
        set_condition(&mut v, "Ready", "True");
        set_containers_ready(&mut v, true);
        self.write_pod(v);
    }

    fn kubelet_finish(&mut self, key: &Key, uid: &str) {
        let Some(v) = self.live_pod(key, uid) else { return };
        if !terminating(&v) || self.kubelet.is_lost(&v) {
            return;
        }
        self.remove_now(key);
    }

    /// `POST /ordinal/v1/inject`.
    pub fn inject(&mut self, req: &Value) -> Result<Value, ApiError> {
        let action = req.get("action").and_then(Value::as_str).unwrap_or("");
        let str_field = |f: &str| -> Result<String, ApiError> {
            req.get(f)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| ApiError::bad_request(format!("inject {action}: {f:?} is required")))
        };
        match action {
            "fail-pod" | "set-ready" => {
                let ns = req.get("namespace").and_then(Value::as_str).unwrap_or("default").to_string();
                let name = str_field("name")?;
                let key = Key::new(Kind::Pod, &ns, &name);
                let mut v = self.store.get_key(&key).cloned().ok_or_else(|| ApiError::not_found(Kind::Pod, &name))?;
                if action == "fail-pod" {
                    v["status"]["phase"] = json!("Failed");
                    set_condition(&mut v, "ContainersReady", "False");
                    set_condition(&mut v, "Ready", "False");
                    set_containers_ready(&mut v, false);
                    if let Some(cs) = v.pointer_mut("/status/containerStatuses").and_then(Value::as_array_mut) {
                        for c in cs {
                            c["state"] =
                                json!({"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": now_rfc3339()}});
                            c["started"] = json!(false);
                        }
                    }
                } else {
                    let ready = req
                        .get("ready")
                        .and_then(Value::as_bool)
                        .ok_or_else(|| ApiError::bad_request("inject set-ready: \"ready\" (true|false) is required"))?;
                    if phase(&v) != "Running" {
                        return Err(ApiError::bad_request(format!(
                            "pod {name:?} is {}; only a Running pod's readiness can be set",
                            phase(&v)
                        )));
                    }
                    let s = if ready { "True" } else { "False" };
                    set_condition(&mut v, "ContainersReady", s);
                    set_condition(&mut v, "Ready", s);
                    set_containers_ready(&mut v, ready);
                }
                self.write_pod(v).ok_or_else(|| ApiError::internal("pod status write failed"))
            }
            "lose-node" | "restore-node" => {
                let node = str_field("node")?;
                let idx: Option<usize> = node.strip_prefix("node-").and_then(|n| n.parse().ok());
                if idx.is_none_or(|i| i >= self.kubelet.nodes) {
                    return Err(ApiError::new(
                        404,
                        "NotFound",
                        format!("nodes {node:?} not found (nodes are node-0..node-{})", self.kubelet.nodes - 1),
                    ));
                }
                let on_node: Vec<Key> = self
                    .store
                    .list(Kind::Pod, None)
                    .filter(|p| p.pointer("/spec/nodeName").and_then(Value::as_str) == Some(node.as_str()))
                    .filter_map(Key::of)
                    .collect();
                if action == "lose-node" {
                    self.kubelet.lost.insert(node.clone());
                    for key in on_node {
                        let Some(mut v) = self.store.get_key(&key).cloned() else { continue };
                        if phase(&v) == "Running" || phase(&v) == "Pending" {
                            set_condition(&mut v, "Ready", "Unknown");
                            set_condition(&mut v, "ContainersReady", "Unknown");
                            self.write_pod(v);
                        }
                    }
                } else {
                    self.kubelet.lost.remove(&node);
                    for key in on_node {
                        let Some(mut v) = self.store.get_key(&key).cloned() else { continue };
                        if phase(&v) == "Running" && ready_status(&v) == "Unknown" && !terminating(&v) {
                            set_condition(&mut v, "ContainersReady", "True");
                            set_condition(&mut v, "Ready", "True");
                            self.write_pod(v);
                        } else {
                            self.kubelet_track(&key);
                        }
                    }
                }
                Ok(json!({"node": node, "lost": action == "lose-node"}))
            }
            other => Err(ApiError::bad_request(format!(
                "unknown inject action {other:?}: expected fail-pod, set-ready, lose-node or restore-node"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_duration("300ms").unwrap(), Duration::from_millis(300));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("10").is_err());
    }
}
