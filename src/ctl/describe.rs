//! `describe statefulset|pod`: kubectl's describers (k8s.io/kubectl/pkg/describe),
//! the same lines in the same order, through a describe-configured tabwriter.

use serde_json::Value;

use super::print::{self, TabWriter, age, arr, human_duration, i, parse_time, rfc1123z, s};
use super::resource::{self, Resource};
use super::{Ctl, CtlError};

const L1: &str = "  ";
const L2: &str = "    ";
const L3: &str = "      ";
const MAX_ANNOTATION_LEN: usize = 140;

pub fn describe(ctl: &mut Ctl<'_>, res: &Resource, names: &[String], selector: Option<&str>) -> Result<(), CtlError> {
    if !matches!(res.plural, "statefulsets" | "pods" | "services" | "persistentvolumeclaims") {
        return Err(CtlError::Msg(format!(
            "describe {} is not supported by ordinal ctl (statefulsets, pods, services and persistentvolumeclaims are); use `get {} -o yaml`",
            res.plural, res.plural
        )));
    }
    let ns = ctl.inv.ns().to_string();
    let objs: Vec<Value> = if names.is_empty() {
        let (items, _) = ctl.list(res, selector)?;
        if items.is_empty() {
            writeln!(ctl.err, "No resources found in {ns} namespace.")?;
            return Ok(());
        }
        items
    } else {
        let mut v = Vec::new();
        for n in names {
            match ctl.get_object(res, &ns, n) {
                Ok(o) => v.push(o),
                Err(e @ CtlError::Server { .. }) => {
                    ctl.err.write_all(e.render().as_bytes())?;
                    ctl.failed = true;
                }
                Err(e) => return Err(e),
            }
        }
        v
    };
    let events = ctl.get_json(&resource::lookup("events").unwrap().collection_path(Some(&ns))).ok();
    let now = print::now();
    for (n, obj) in objs.iter().enumerate() {
        let evs = events.as_ref().map(|e| events_for(e, obj, res.kind)).unwrap_or_default();
        let text = match res.plural {
            "statefulsets" => {
                let pods = ctl.list(resource::lookup("pods").unwrap(), None).map(|(p, _)| p).unwrap_or_default();
                describe_statefulset(obj, &pods, &evs, now)
            }
            "services" => {
                let slices =
                    ctl.list(resource::lookup("endpointslices").unwrap(), None).map(|(p, _)| p).unwrap_or_default();
                describe_service(obj, &slices, &evs, now)
            }
            "persistentvolumeclaims" => {
                let pods = ctl.list(resource::lookup("pods").unwrap(), None).map(|(p, _)| p).unwrap_or_default();
                describe_pvc(obj, &pods, &evs, now)
            }
            _ => describe_pod(obj, &evs, now),
        };
        if n > 0 {
            ctl.out.write_all(b"\n\n")?;
        }
        ctl.out.write_all(text.as_bytes())?;
    }
    Ok(())
}

/// The events about `obj`, oldest first.
fn events_for(list: &Value, obj: &Value, kind: &str) -> Vec<Value> {
    let (name, uid) = (s(obj, "/metadata/name"), s(obj, "/metadata/uid"));
    let mut evs: Vec<Value> = arr(list, "/items")
        .iter()
        .filter(|e| {
            s(e, "/involvedObject/kind") == kind
                && s(e, "/involvedObject/name") == name
                && (uid.is_empty() || s(e, "/involvedObject/uid").is_empty() || s(e, "/involvedObject/uid") == uid)
        })
        .cloned()
        .collect();
    evs.sort_by_key(|e| event_time(e).and_then(parse_time).unwrap_or(0));
    evs
}

fn event_time(e: &Value) -> Option<&str> {
    ["/lastTimestamp", "/eventTime", "/firstTimestamp"]
        .iter()
        .find_map(|p| e.pointer(p).and_then(Value::as_str).filter(|s| !s.is_empty()))
}

fn map_of(v: &Value, ptr: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = v
        .pointer(ptr)
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn labels_multiline(w: &mut TabWriter, indent: &str, title: &str, labels: &[(String, String)]) {
    w.write(&format!("{indent}{title}:\t"));
    if labels.is_empty() {
        w.write("<none>\n");
        return;
    }
    for (n, (k, v)) in labels.iter().enumerate() {
        if n > 0 {
            w.write(&format!("{indent}\t"));
        }
        w.write(&format!("{k}={v}\n"));
    }
}

fn annotations_multiline(w: &mut TabWriter, indent: &str, title: &str, annotations: &[(String, String)]) {
    w.write(&format!("{indent}{title}:\t"));
    let anns: Vec<&(String, String)> =
        annotations.iter().filter(|(k, _)| k != "kubectl.kubernetes.io/last-applied-configuration").collect();
    if anns.is_empty() {
        w.write("<none>\n");
        return;
    }
    for (n, (k, v)) in anns.into_iter().enumerate() {
        if n > 0 {
            w.write(&format!("{indent}\t"));
        }
        let value = v.trim_end_matches('\n');
        if value.len() + k.len() + 2 > MAX_ANNOTATION_LEN || value.contains('\n') {
            w.write(&format!("{k}:\n"));
            for line in value.split('\n') {
                let short: String = if line.len() > MAX_ANNOTATION_LEN - 2 {
                    let mut end = MAX_ANNOTATION_LEN - 5;
                    while !line.is_char_boundary(end) {
                        end -= 1;
                    }
                    format!("{}...", &line[..end])
                } else {
                    line.to_string()
                };
                w.write(&format!("{indent}\t  {short}\n"));
            }
        } else {
            w.write(&format!("{k}: {value}\n"));
        }
    }
}

fn tolerations_multiline(w: &mut TabWriter, indent: &str, tolerations: &[Value]) {
    w.write(&format!("{indent}Tolerations:\t"));
    if tolerations.is_empty() {
        w.write("<none>\n");
        return;
    }
    for (n, t) in tolerations.iter().enumerate() {
        if n > 0 {
            w.write(&format!("{indent}\t"));
        }
        let (key, value, effect) = (s(t, "/key"), s(t, "/value"), s(t, "/effect"));
        let mut line = key.to_string();
        if !value.is_empty() {
            line.push_str(&format!("={value}"));
        }
        if !effect.is_empty() {
            line.push_str(&format!(":{effect}"));
        }
        if s(t, "/operator") == "Exists" && value.is_empty() {
            line.push_str(if key.is_empty() && effect.is_empty() { "op=Exists" } else { " op=Exists" });
        }
        if let Some(secs) = t.pointer("/tolerationSeconds").and_then(Value::as_i64) {
            line.push_str(&format!(" for {secs}s"));
        }
        w.write(&format!("{line}\n"));
    }
}

fn time_of(v: &Value, ptr: &str) -> String {
    v.pointer(ptr).and_then(Value::as_str).and_then(parse_time).map(rfc1123z).unwrap_or_default()
}

fn or_none(s: &str) -> &str {
    if s.is_empty() { "<none>" } else { s }
}

/// `metav1.FormatLabelSelector`.
fn format_selector(sel: &Value) -> String {
    let mut parts: Vec<String> = map_of(sel, "/matchLabels").into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    for e in arr(sel, "/matchExpressions") {
        let vals: Vec<&str> = arr(e, "/values").iter().filter_map(Value::as_str).collect();
        let (k, op) = (s(e, "/key"), s(e, "/operator"));
        parts.push(match op {
            "In" => format!("{k} in ({})", vals.join(",")),
            "NotIn" => format!("{k} notin ({})", vals.join(",")),
            "Exists" => k.to_string(),
            "DoesNotExist" => format!("!{k}"),
            _ => format!("{k} {op} ({})", vals.join(",")),
        });
    }
    if parts.is_empty() { "<none>".into() } else { parts.join(",") }
}

fn ports(c: &Value, field: &str) -> String {
    arr(c, "/ports")
        .iter()
        .map(|p| {
            let proto = match s(p, "/protocol") {
                "" => "TCP",
                x => x,
            };
            format!("{}/{proto}", i(p, &format!("/{field}")))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn describe_status(w: &mut TabWriter, title: &str, state: &Value) {
    if let Some(r) = state.get("running").filter(|v| !v.is_null()) {
        w.write(&format!("{L2}{title}:\tRunning\n{L3}Started:\t{}\n", time_of(r, "/startedAt")));
    } else if let Some(t) = state.get("terminated").filter(|v| !v.is_null()) {
        w.write(&format!("{L2}{title}:\tTerminated\n"));
        if !s(t, "/reason").is_empty() {
            w.write(&format!("{L3}Reason:\t{}\n", s(t, "/reason")));
        }
        if !s(t, "/message").is_empty() {
            w.write(&format!("{L3}Message:\t{}\n", s(t, "/message")));
        }
        w.write(&format!("{L3}Exit Code:\t{}\n", i(t, "/exitCode")));
        if i(t, "/signal") > 0 {
            w.write(&format!("{L3}Signal:\t{}\n", i(t, "/signal")));
        }
        w.write(&format!("{L3}Started:\t{}\n{L3}Finished:\t{}\n", time_of(t, "/startedAt"), time_of(t, "/finishedAt")));
    } else {
        w.write(&format!("{L2}{title}:\tWaiting\n"));
        if let Some(wt) = state.get("waiting")
            && !s(wt, "/reason").is_empty()
        {
            w.write(&format!("{L3}Reason:\t{}\n", s(wt, "/reason")));
        }
    }
}

fn describe_containers(w: &mut TabWriter, label: &str, containers: &[Value], statuses: Option<&[Value]>, space: &str) {
    w.write(&format!("{space}{label}:\n"));
    let name_indent = if space.is_empty() { "" } else { " " };
    for c in containers {
        let name = s(c, "/name");
        let status = statuses.and_then(|st| st.iter().find(|x| s(x, "/name") == name));
        w.write(&format!("{L1}{name_indent}{name}:\n"));
        if let Some(st) = status {
            w.write(&format!("{L2}Container ID:\t{}\n", s(st, "/containerID")));
        }
        w.write(&format!("{L2}Image:\t{}\n", s(c, "/image")));
        if let Some(st) = status {
            w.write(&format!("{L2}Image ID:\t{}\n", s(st, "/imageID")));
        }
        let p = ports(c, "containerPort");
        if p.contains(',') {
            w.write(&format!("{L2}Ports:\t{p}\n"));
        } else {
            w.write(&format!("{L2}Port:\t{}\n", or_none(&p)));
        }
        let hp = ports(c, "hostPort");
        if hp.contains(',') {
            w.write(&format!("{L2}Host Ports:\t{hp}\n"));
        } else {
            w.write(&format!("{L2}Host Port:\t{}\n", or_none(&hp)));
        }
        for (field, title) in [("command", "Command"), ("args", "Args")] {
            let items = arr(c, &format!("/{field}"));
            if !items.is_empty() {
                w.write(&format!("{L2}{title}:\n"));
                for it in items {
                    for line in it.as_str().unwrap_or_default().split('\n') {
                        w.write(&format!("{L3}{line}\n"));
                    }
                }
            }
        }
        if let Some(st) = status {
            describe_status(w, "State", st.get("state").unwrap_or(&Value::Null));
            if let Some(last) = st.get("lastState").filter(|l| l.get("terminated").is_some_and(|t| !t.is_null())) {
                describe_status(w, "Last State", last);
            }
            let ready = st.get("ready").and_then(Value::as_bool).unwrap_or(false);
            w.write(&format!(
                "{L2}Ready:\t{}\n{L2}Restart Count:\t{}\n",
                if ready { "True" } else { "False" },
                i(st, "/restartCount")
            ));
        }
        for (ptr, title) in [("/resources/limits", "Limits"), ("/resources/requests", "Requests")] {
            let m = map_of(c, ptr);
            if !m.is_empty() {
                w.write(&format!("{L2}{title}:\n"));
                for (k, v) in m {
                    w.write(&format!("{L3}{k}:\t{v}\n"));
                }
            }
        }
        for (ptr, title) in
            [("/livenessProbe", "Liveness"), ("/readinessProbe", "Readiness"), ("/startupProbe", "Startup")]
        {
            if let Some(p) = c.pointer(ptr).filter(|p| !p.is_null()) {
                w.write(&format!("{L2}{title}:\t{}\n", probe(p)));
            }
        }
        let env = arr(c, "/env");
        if env.is_empty() {
            w.write(&format!("{L2}Environment:\t<none>\n"));
        } else {
            w.write(&format!("{L2}Environment:\n"));
            for e in env {
                let value = if e.get("value").is_some() {
                    s(e, "/value").to_string()
                } else if let Some(f) = e.pointer("/valueFrom/fieldRef") {
                    format!(" ({}:{})", s(f, "/apiVersion"), s(f, "/fieldPath"))
                } else {
                    String::new()
                };
                w.write(&format!("{L3}{}:\t{value}\n", s(e, "/name")));
            }
        }
        let mut mounts: Vec<&Value> = arr(c, "/volumeMounts").iter().collect();
        mounts.sort_by_key(|m| s(m, "/mountPath"));
        w.write(&format!("{L2}Mounts:{}\n", if mounts.is_empty() { "\t<none>" } else { "" }));
        for m in mounts {
            let mut flags = vec![if m.get("readOnly").and_then(Value::as_bool) == Some(true) {
                "ro".to_string()
            } else {
                "rw".to_string()
            }];
            if !s(m, "/subPath").is_empty() {
                flags.push(format!("path={:?}", s(m, "/subPath")));
            }
            w.write(&format!("{L3}{} from {} ({})\n", s(m, "/mountPath"), s(m, "/name"), flags.join(",")));
        }
    }
}

fn probe(p: &Value) -> String {
    let action = if let Some(h) = p.get("httpGet") {
        let port =
            h.get("port").map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())).unwrap_or_default();
        let scheme = match s(h, "/scheme") {
            "" => "http".to_string(),
            x => x.to_ascii_lowercase(),
        };
        format!("http-get {scheme}://{}:{port}{}", s(h, "/host"), s(h, "/path"))
    } else if let Some(t) = p.get("tcpSocket") {
        let port =
            t.get("port").map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())).unwrap_or_default();
        format!("tcp-socket {}:{port}", s(t, "/host"))
    } else if let Some(e) = p.get("exec") {
        format!("exec [{}]", arr(e, "/command").iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" "))
    } else {
        "unknown".into()
    };
    let get = |k: &str, d: i64| p.get(k).and_then(Value::as_i64).unwrap_or(d);
    format!(
        "{action} delay={}s timeout={}s period={}s #success={} #failure={}",
        get("initialDelaySeconds", 0),
        get("timeoutSeconds", 1),
        get("periodSeconds", 10),
        get("successThreshold", 1),
        get("failureThreshold", 3)
    )
}

fn describe_volumes(w: &mut TabWriter, volumes: &[Value], space: &str) {
    if volumes.is_empty() {
        w.write(&format!("{space}Volumes:\t<none>\n"));
        return;
    }
    w.write(&format!("{space}Volumes:\n"));
    let name_indent = if space.is_empty() { "" } else { " " };
    for v in volumes {
        w.write(&format!("{L1}{name_indent}{}:\n", s(v, "/name")));
        if let Some(c) = v.get("persistentVolumeClaim") {
            w.write(&format!(
                "{L2}Type:\tPersistentVolumeClaim (a reference to a PersistentVolumeClaim in the same namespace)\n{L2}ClaimName:\t{}\n{L2}ReadOnly:\t{}\n",
                s(c, "/claimName"),
                c.get("readOnly").and_then(Value::as_bool).unwrap_or(false)
            ));
        } else if let Some(e) = v.get("emptyDir") {
            let limit = s(e, "/sizeLimit");
            w.write(&format!(
                "{L2}Type:\tEmptyDir (a temporary directory that shares a pod's lifetime)\n{L2}Medium:\t{}\n{L2}SizeLimit:\t{}\n",
                s(e, "/medium"),
                if limit.is_empty() { "<unset>" } else { limit }
            ));
        } else if let Some(c) = v.get("configMap") {
            w.write(&format!(
                "{L2}Type:\tConfigMap (a volume populated by a ConfigMap)\n{L2}Name:\t{}\n{L2}Optional:\t{}\n",
                s(c, "/name"),
                c.get("optional").and_then(Value::as_bool).unwrap_or(false)
            ));
        } else if let Some(h) = v.get("hostPath") {
            w.write(&format!(
                "{L2}Type:\tHostPath (bare host directory volume)\n{L2}Path:\t{}\n{L2}HostPathType:\t{}\n",
                s(h, "/path"),
                s(h, "/type")
            ));
        } else {
            w.write(&format!("{L2}<unknown>\n"));
        }
    }
}

fn describe_pod_template(w: &mut TabWriter, t: &Value) {
    w.write("Pod Template:\n");
    labels_multiline(w, "  ", "Labels", &map_of(t, "/metadata/labels"));
    let anns = map_of(t, "/metadata/annotations");
    if !anns.is_empty() {
        annotations_multiline(w, "  ", "Annotations", &anns);
    }
    let sa = s(t, "/spec/serviceAccountName");
    if !sa.is_empty() {
        w.write(&format!("{L1}Service Account:\t{sa}\n"));
    }
    let inits = arr(t, "/spec/initContainers");
    if !inits.is_empty() {
        describe_containers(w, "Init Containers", inits, None, "  ");
    }
    describe_containers(w, "Containers", arr(t, "/spec/containers"), None, "  ");
    describe_volumes(w, arr(t, "/spec/volumes"), "  ");
    labels_multiline(w, "  ", "Node-Selectors", &map_of(t, "/spec/nodeSelector"));
    tolerations_multiline(w, "  ", arr(t, "/spec/tolerations"));
    let pc = s(t, "/spec/priorityClassName");
    if !pc.is_empty() {
        w.write(&format!("{L1}Priority Class Name:\t{pc}\n"));
    }
}

fn describe_events(w: &mut TabWriter, events: &[Value], now: i64) -> String {
    if events.is_empty() {
        w.write("Events:\t<none>\n");
        return w.flush();
    }
    let mut out = w.flush();
    w.write("Events:\n  Type\tReason\tAge\tFrom\tMessage\n");
    w.write(&format!("{L1}----\t------\t----\t----\t-------\n"));
    for e in events {
        let first = e
            .pointer("/eventTime")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .or_else(|| e.pointer("/firstTimestamp").and_then(Value::as_str));
        let first_since = age(first, now);
        let interval = if let Some(series) = e.get("series").filter(|v| !v.is_null()) {
            format!(
                "{} (x{} over {first_since})",
                age(series.pointer("/lastObservedTime").and_then(Value::as_str), now),
                i(series, "/count")
            )
        } else if i(e, "/count") > 1 {
            format!(
                "{} (x{} over {first_since})",
                age(e.pointer("/lastTimestamp").and_then(Value::as_str), now),
                i(e, "/count")
            )
        } else {
            first_since
        };
        let mut source = s(e, "/source/component").to_string();
        if source.is_empty() {
            source = s(e, "/reportingComponent").to_string();
        }
        w.write(&format!(
            "{L1}{}\t{}\t{interval}\t{source}\t{}\n",
            s(e, "/type"),
            s(e, "/reason"),
            s(e, "/message").trim()
        ));
    }
    out.push_str(&w.flush());
    out
}

/// `kubectl describe statefulset` (`pods`: the namespace's pods, matched by selector).
pub fn describe_statefulset(sts: &Value, pods: &[Value], events: &[Value], now: i64) -> String {
    let mut w = TabWriter::describe();
    w.write(&format!("Name:\t{}\n", s(sts, "/metadata/name")));
    w.write(&format!("Namespace:\t{}\n", s(sts, "/metadata/namespace")));
    w.write(&format!("CreationTimestamp:\t{}\n", time_of(sts, "/metadata/creationTimestamp")));
    let selector = sts.pointer("/spec/selector").cloned().unwrap_or(Value::Null);
    w.write(&format!("Selector:\t{}\n", format_selector(&selector)));
    labels_multiline(&mut w, "", "Labels", &map_of(sts, "/metadata/labels"));
    annotations_multiline(&mut w, "", "Annotations", &map_of(sts, "/metadata/annotations"));
    let replicas = sts.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1);
    w.write(&format!("Replicas:\t{replicas} desired | {} total\n", i(sts, "/status/replicas")));
    w.write(&format!("Update Strategy:\t{}\n", s(sts, "/spec/updateStrategy/type")));
    if let Some(ru) = sts.pointer("/spec/updateStrategy/rollingUpdate").filter(|v| !v.is_null())
        && let Some(p) = ru.get("partition").and_then(Value::as_i64)
    {
        w.write(&format!("{L1}Partition:\t{p}\n"));
        if let Some(mu) = ru.get("maxUnavailable").filter(|v| !v.is_null()) {
            w.write(&format!(
                "{L1}MaxUnavailable:\t{}\n",
                mu.as_str().map(str::to_string).unwrap_or_else(|| mu.to_string())
            ));
        }
    }
    // Pods owned by the set (by controller reference, else by selector).
    let uid = s(sts, "/metadata/uid");
    let sel = super::selector::Selector::parse(&format_selector(&selector).replace("<none>", "")).ok();
    let mut counts = [0; 4];
    for p in pods {
        let owned = arr(p, "/metadata/ownerReferences").iter().any(|o| !uid.is_empty() && s(o, "/uid") == uid)
            || (uid.is_empty() && sel.as_ref().is_some_and(|sel| sel.matches_object(p)));
        if !owned {
            continue;
        }
        match s(p, "/status/phase") {
            "Running" => counts[0] += 1,
            "Pending" => counts[1] += 1,
            "Succeeded" => counts[2] += 1,
            "Failed" => counts[3] += 1,
            _ => {}
        }
    }
    w.write(&format!(
        "Pods Status:\t{} Running / {} Waiting / {} Succeeded / {} Failed\n",
        counts[0], counts[1], counts[2], counts[3]
    ));
    describe_pod_template(&mut w, sts.pointer("/spec/template").unwrap_or(&Value::Null));
    let vcts = arr(sts, "/spec/volumeClaimTemplates");
    if vcts.is_empty() {
        w.write("Volume Claims:\t<none>\n");
    } else {
        w.write("Volume Claims:\n");
        for pvc in vcts {
            w.write(&format!("{L1}Name:\t{}\n", s(pvc, "/metadata/name")));
            let mut class = s(pvc, "/spec/storageClassName").to_string();
            if class.is_empty() {
                class = s(pvc, "/metadata/annotations/volume.beta.kubernetes.io~1storage-class").to_string();
            }
            w.write(&format!("{L1}StorageClass:\t{class}\n"));
            labels_multiline(&mut w, "  ", "Labels", &map_of(pvc, "/metadata/labels"));
            labels_multiline(&mut w, "  ", "Annotations", &map_of(pvc, "/metadata/annotations"));
            let cap = s(pvc, "/spec/resources/requests/storage");
            w.write(&format!("{L1}Capacity:\t{}\n", if cap.is_empty() { "<default>" } else { cap }));
            let modes: Vec<&str> = arr(pvc, "/spec/accessModes").iter().filter_map(Value::as_str).collect();
            w.write(&format!("{L1}Access Modes:\t[{}]\n", modes.join(" ")));
        }
    }
    describe_events(&mut w, events, now)
}

/// `kubectl describe pod`.
pub fn describe_pod(pod: &Value, events: &[Value], now: i64) -> String {
    let mut w = TabWriter::describe();
    w.write(&format!("Name:\t{}\n", s(pod, "/metadata/name")));
    w.write(&format!("Namespace:\t{}\n", s(pod, "/metadata/namespace")));
    if let Some(p) = pod.pointer("/spec/priority").and_then(Value::as_i64) {
        w.write(&format!("Priority:\t{p}\n"));
    }
    let sa = s(pod, "/spec/serviceAccountName");
    if !sa.is_empty() {
        w.write(&format!("Service Account:\t{sa}\n"));
    }
    let node = s(pod, "/spec/nodeName");
    if node.is_empty() {
        w.write("Node:\t<none>\n");
    } else {
        w.write(&format!("Node:\t{node}/{}\n", s(pod, "/status/hostIP")));
    }
    if pod.pointer("/status/startTime").is_some_and(|v| v.is_string()) {
        w.write(&format!("Start Time:\t{}\n", time_of(pod, "/status/startTime")));
    }
    labels_multiline(&mut w, "", "Labels", &map_of(pod, "/metadata/labels"));
    annotations_multiline(&mut w, "", "Annotations", &map_of(pod, "/metadata/annotations"));
    let phase = s(pod, "/status/phase");
    let deleting = pod.pointer("/metadata/deletionTimestamp").and_then(Value::as_str);
    match deleting {
        Some(ts) if phase != "Failed" && phase != "Succeeded" => {
            let until = parse_time(ts).map(|t| human_duration(t - now)).unwrap_or_else(|| "<unknown>".into());
            w.write(&format!("Status:\tTerminating (lasts {until})\n"));
            w.write(&format!("Termination Grace Period:\t{}s\n", i(pod, "/metadata/deletionGracePeriodSeconds")));
        }
        _ => w.write(&format!("Status:\t{phase}\n")),
    }
    for (ptr, title) in [("/status/reason", "Reason"), ("/status/message", "Message")] {
        if !s(pod, ptr).is_empty() {
            w.write(&format!("{title}:\t{}\n", s(pod, ptr)));
        }
    }
    w.write(&format!("IP:\t{}\n", s(pod, "/status/podIP")));
    let ips = arr(pod, "/status/podIPs");
    if ips.is_empty() {
        w.write("IPs:\t<none>\n");
    } else {
        w.write("IPs:\n");
        for ip in ips {
            w.write(&format!("{L1}IP:\t{}\n", s(ip, "/ip")));
        }
    }
    if let Some(o) = arr(pod, "/metadata/ownerReferences")
        .iter()
        .find(|o| o.get("controller").and_then(Value::as_bool) == Some(true))
    {
        w.write(&format!("Controlled By:\t{}/{}\n", s(o, "/kind"), s(o, "/name")));
    }
    let statuses = arr(pod, "/status/containerStatuses");
    let inits = arr(pod, "/spec/initContainers");
    if !inits.is_empty() {
        describe_containers(&mut w, "Init Containers", inits, Some(arr(pod, "/status/initContainerStatuses")), "");
    }
    describe_containers(&mut w, "Containers", arr(pod, "/spec/containers"), Some(statuses), "");
    let conds = arr(pod, "/status/conditions");
    if !conds.is_empty() {
        w.write("Conditions:\n  Type\tStatus\n");
        for c in conds {
            w.write(&format!("{L1}{} \t{} \n", s(c, "/type"), s(c, "/status")));
        }
    }
    describe_volumes(&mut w, arr(pod, "/spec/volumes"), "");
    let has_resources = arr(pod, "/spec/containers")
        .iter()
        .any(|c| c.pointer("/resources").and_then(Value::as_object).is_some_and(|m| !m.is_empty()));
    let qos = match s(pod, "/status/qosClass") {
        "" if has_resources => "Burstable",
        "" => "BestEffort",
        q => q,
    };
    w.write(&format!("QoS Class:\t{qos}\n"));
    labels_multiline(&mut w, "", "Node-Selectors", &map_of(pod, "/spec/nodeSelector"));
    tolerations_multiline(&mut w, "", arr(pod, "/spec/tolerations"));
    describe_events(&mut w, events, now)
}

/// `kubectl describe service` (`slices`: the namespace's EndpointSlices).
pub fn describe_service(svc: &Value, slices: &[Value], events: &[Value], now: i64) -> String {
    let mut w = TabWriter::describe();
    let name = s(svc, "/metadata/name");
    w.write(&format!("Name:\t{name}\n"));
    w.write(&format!("Namespace:\t{}\n", s(svc, "/metadata/namespace")));
    labels_multiline(&mut w, "", "Labels", &map_of(svc, "/metadata/labels"));
    annotations_multiline(&mut w, "", "Annotations", &map_of(svc, "/metadata/annotations"));
    let sel: Vec<String> = map_of(svc, "/spec/selector").into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    w.write(&format!("Selector:\t{}\n", sel.join(",")));
    let ty = match s(svc, "/spec/type") {
        "" => "ClusterIP",
        t => t,
    };
    w.write(&format!("Type:\t{ty}\n"));
    if !s(svc, "/spec/ipFamilyPolicy").is_empty() {
        w.write(&format!("IP Family Policy:\t{}\n", s(svc, "/spec/ipFamilyPolicy")));
    }
    let fams: Vec<&str> = arr(svc, "/spec/ipFamilies").iter().filter_map(Value::as_str).collect();
    w.write(&format!("IP Families:\t{}\n", if fams.is_empty() { "<none>".into() } else { fams.join(",") }));
    w.write(&format!("IP:\t{}\n", s(svc, "/spec/clusterIP")));
    let ips: Vec<&str> = arr(svc, "/spec/clusterIPs").iter().filter_map(Value::as_str).collect();
    w.write(&format!("IPs:\t{}\n", if ips.is_empty() { "<none>".into() } else { ips.join(",") }));
    let ext: Vec<&str> = arr(svc, "/spec/externalIPs").iter().filter_map(Value::as_str).collect();
    if !ext.is_empty() {
        w.write(&format!("External IPs:\t{}\n", ext.join(",")));
    }
    let ingress: Vec<&str> = arr(svc, "/status/loadBalancer/ingress")
        .iter()
        .map(|i| if s(i, "/ip").is_empty() { s(i, "/hostname") } else { s(i, "/ip") })
        .collect();
    if !ingress.is_empty() {
        w.write(&format!("LoadBalancer Ingress:\t{}\n", ingress.join(", ")));
    }
    let own: Vec<&Value> =
        slices.iter().filter(|sl| s(sl, "/metadata/labels/kubernetes.io~1service-name") == name).collect();
    for p in arr(svc, "/spec/ports") {
        let pname = s(p, "/name");
        let proto = match s(p, "/protocol") {
            "" => "TCP",
            x => x,
        };
        w.write(&format!("Port:\t{}\t{}/{proto}\n", if pname.is_empty() { "<unset>" } else { pname }, i(p, "/port")));
        let target = match p.get("targetPort") {
            Some(Value::String(t)) => t.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => i(p, "/port").to_string(),
        };
        w.write(&format!("TargetPort:\t{target}/{proto}\n"));
        if i(p, "/nodePort") != 0 {
            w.write(&format!(
                "NodePort:\t{}\t{}/{proto}\n",
                if pname.is_empty() { "<unset>" } else { pname },
                i(p, "/nodePort")
            ));
        }
        // Ready endpoints of the slices' port with this port's name, at most 3 shown.
        let mut list: Vec<String> = Vec::new();
        for sl in &own {
            for ep_port in arr(sl, "/ports").iter().filter(|ep| s(ep, "/name") == pname) {
                for ep in arr(sl, "/endpoints") {
                    if ep.pointer("/conditions/ready").and_then(Value::as_bool) == Some(false) {
                        continue;
                    }
                    if let Some(addr) = arr(ep, "/addresses").first().and_then(Value::as_str) {
                        let a = if addr.contains(':') { format!("[{addr}]") } else { addr.to_string() };
                        list.push(format!("{a}:{}", i(ep_port, "/port")));
                    }
                }
            }
        }
        let shown = if list.is_empty() {
            "<none>".to_string()
        } else if list.len() > 3 {
            format!("{} + {} more...", list[..3].join(","), list.len() - 3)
        } else {
            list.join(",")
        };
        w.write(&format!("Endpoints:\t{shown}\n"));
    }
    w.write(&format!(
        "Session Affinity:\t{}\n",
        match s(svc, "/spec/sessionAffinity") {
            "" => "None",
            a => a,
        }
    ));
    if !s(svc, "/spec/externalTrafficPolicy").is_empty() {
        w.write(&format!("External Traffic Policy:\t{}\n", s(svc, "/spec/externalTrafficPolicy")));
    }
    if !s(svc, "/spec/internalTrafficPolicy").is_empty() {
        w.write(&format!("Internal Traffic Policy:\t{}\n", s(svc, "/spec/internalTrafficPolicy")));
    }
    describe_events(&mut w, events, now)
}

/// `kubectl describe persistentvolumeclaim` (`pods`: the namespace's pods, for "Used By").
pub fn describe_pvc(pvc: &Value, pods: &[Value], events: &[Value], now: i64) -> String {
    let mut w = TabWriter::describe();
    let name = s(pvc, "/metadata/name");
    w.write(&format!("Name:\t{name}\n"));
    w.write(&format!("Namespace:\t{}\n", s(pvc, "/metadata/namespace")));
    let mut class = s(pvc, "/metadata/annotations/volume.beta.kubernetes.io~1storage-class").to_string();
    if class.is_empty() {
        class = s(pvc, "/spec/storageClassName").to_string();
    }
    w.write(&format!("StorageClass:\t{class}\n"));
    match pvc.pointer("/metadata/deletionTimestamp").and_then(Value::as_str) {
        Some(ts) => w.write(&format!("Status:\tTerminating (lasts {})\n", age(Some(ts), now))),
        None => w.write(&format!("Status:\t{}\n", s(pvc, "/status/phase"))),
    }
    let volume = s(pvc, "/spec/volumeName");
    w.write(&format!("Volume:\t{volume}\n"));
    labels_multiline(&mut w, "", "Labels", &map_of(pvc, "/metadata/labels"));
    annotations_multiline(&mut w, "", "Annotations", &map_of(pvc, "/metadata/annotations"));
    let fin: Vec<&str> = arr(pvc, "/metadata/finalizers").iter().filter_map(Value::as_str).collect();
    w.write(&format!("Finalizers:\t[{}]\n", fin.join(" ")));
    let (capacity, modes) = if volume.is_empty() {
        (String::new(), String::new())
    } else {
        let modes: Vec<&str> = arr(pvc, "/status/accessModes")
            .iter()
            .filter_map(|m| match m.as_str()? {
                "ReadWriteOnce" => Some("RWO"),
                "ReadOnlyMany" => Some("ROX"),
                "ReadWriteMany" => Some("RWX"),
                "ReadWriteOncePod" => Some("RWOP"),
                _ => None,
            })
            .collect();
        (s(pvc, "/status/capacity/storage").to_string(), modes.join(","))
    };
    w.write(&format!("Capacity:\t{capacity}\nAccess Modes:\t{modes}\n"));
    if !s(pvc, "/spec/volumeMode").is_empty() {
        w.write(&format!("VolumeMode:\t{}\n", s(pvc, "/spec/volumeMode")));
    }
    let mut users: Vec<&str> = pods
        .iter()
        .filter(|p| arr(p, "/spec/volumes").iter().any(|v| s(v, "/persistentVolumeClaim/claimName") == name))
        .map(|p| s(p, "/metadata/name"))
        .collect();
    users.sort();
    w.write("Used By:\t");
    if users.is_empty() {
        w.write("<none>\n");
    }
    for (n, u) in users.iter().enumerate() {
        if n > 0 {
            w.write("\t");
        }
        w.write(&format!("{u}\n"));
    }
    describe_events(&mut w, events, now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_795_238_000; // 2026-11-21T05:13:20Z

    fn web() -> Value {
        json!({"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"web","namespace":"default","uid":"u1",
            "creationTimestamp":"2026-11-21T05:12:44Z","generation":1},
          "spec":{"replicas":2,"serviceName":"nginx","selector":{"matchLabels":{"app":"nginx"}},
            "updateStrategy":{"type":"RollingUpdate","rollingUpdate":{"partition":0}},
            "template":{"metadata":{"labels":{"app":"nginx"}},"spec":{"containers":[{"name":"nginx","image":"registry.k8s.io/nginx-slim:0.24",
              "ports":[{"containerPort":80,"name":"web","protocol":"TCP"}],"volumeMounts":[{"name":"www","mountPath":"/usr/share/nginx/html"}]}]}},
            "volumeClaimTemplates":[{"metadata":{"name":"www"},"spec":{"accessModes":["ReadWriteOnce"],"resources":{"requests":{"storage":"1Gi"}}}}]},
          "status":{"replicas":2,"readyReplicas":2}})
    }

    #[test]
    fn statefulset_layout() {
        let pods = vec![
            json!({"metadata":{"name":"web-0","ownerReferences":[{"uid":"u1","controller":true}]},"status":{"phase":"Running"}}),
            json!({"metadata":{"name":"web-1","ownerReferences":[{"uid":"u1","controller":true}]},"status":{"phase":"Pending"}}),
            json!({"metadata":{"name":"other-0","ownerReferences":[{"uid":"u2","controller":true}]},"status":{"phase":"Running"}}),
        ];
        let events = vec![
            json!({"type":"Normal","reason":"SuccessfulCreate","message":"create Claim www-web-0 Pod web-0 in StatefulSet web success",
            "source":{"component":"statefulset-controller"},"firstTimestamp":"2026-11-21T05:12:44Z","lastTimestamp":"2026-11-21T05:12:44Z","count":1}),
        ];
        let got = describe_statefulset(&web(), &pods, &events, NOW);
        let want = "\
Name:               web
Namespace:          default
CreationTimestamp:  Sat, 21 Nov 2026 05:12:44 +0000
Selector:           app=nginx
Labels:             <none>
Annotations:        <none>
Replicas:           2 desired | 2 total
Update Strategy:    RollingUpdate
  Partition:        0
Pods Status:        1 Running / 1 Waiting / 0 Succeeded / 0 Failed
Pod Template:
  Labels:  app=nginx
  Containers:
   nginx:
    Image:        registry.k8s.io/nginx-slim:0.24
    Port:         80/TCP
    Host Port:    0/TCP
    Environment:  <none>
    Mounts:
      /usr/share/nginx/html from www (rw)
  Volumes:         <none>
  Node-Selectors:  <none>
  Tolerations:     <none>
Volume Claims:
  Name:          www
  StorageClass:  
  Labels:        <none>
  Annotations:   <none>
  Capacity:      1Gi
  Access Modes:  [ReadWriteOnce]
Events:
  Type    Reason            Age   From                    Message
  ----    ------            ----  ----                    -------
  Normal  SuccessfulCreate  36s   statefulset-controller  create Claim www-web-0 Pod web-0 in StatefulSet web success
";
        assert_eq!(got, want, "\n{got}");
    }

    #[test]
    fn service_and_pvc_layouts() {
        let svc = json!({"metadata": {"name": "nginx", "namespace": "default", "labels": {"app": "nginx"}},
            "spec": {"clusterIP": "None", "clusterIPs": ["None"], "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
              "selector": {"app": "nginx"}, "ports": [{"name": "web", "port": 80, "targetPort": 80, "protocol": "TCP"}]}});
        let slices = vec![
            json!({"metadata": {"name": "nginx-ipv4", "labels": {"kubernetes.io/service-name": "nginx"}},
            "ports": [{"name": "web", "port": 80}],
            "endpoints": [{"addresses": ["10.244.0.1"], "conditions": {"ready": true}}, {"addresses": ["10.244.0.2"], "conditions": {"ready": false}}]}),
        ];
        assert_eq!(
            describe_service(&svc, &slices, &[], NOW),
            "Name:              nginx\nNamespace:         default\nLabels:            app=nginx\nAnnotations:       <none>\n\
             Selector:          app=nginx\nType:              ClusterIP\nIP Family Policy:  SingleStack\nIP Families:       IPv4\n\
             IP:                None\nIPs:               None\nPort:              web  80/TCP\nTargetPort:        80/TCP\n\
             Endpoints:         10.244.0.1:80\nSession Affinity:  None\nEvents:            <none>\n"
        );
        let pvc = json!({"metadata": {"name": "www-web-0", "namespace": "default", "labels": {"app": "nginx"}, "finalizers": ["kubernetes.io/pvc-protection"]},
            "spec": {"volumeName": "pvc-1", "storageClassName": "standard", "volumeMode": "Filesystem"},
            "status": {"phase": "Bound", "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"]}});
        let pods = vec![
            json!({"metadata": {"name": "web-0"}, "spec": {"volumes": [{"name": "www", "persistentVolumeClaim": {"claimName": "www-web-0"}}]}}),
        ];
        assert_eq!(
            describe_pvc(&pvc, &pods, &[], NOW),
            "Name:          www-web-0\nNamespace:     default\nStorageClass:  standard\nStatus:        Bound\nVolume:        pvc-1\n\
             Labels:        app=nginx\nAnnotations:   <none>\nFinalizers:    [kubernetes.io/pvc-protection]\nCapacity:      1Gi\n\
             Access Modes:  RWO\nVolumeMode:    Filesystem\nUsed By:       web-0\nEvents:        <none>\n"
        );
    }

    #[test]
    fn pod_layout() {
        let pod = json!({"metadata":{"name":"web-0","namespace":"default","labels":{"app":"nginx","statefulset.kubernetes.io/pod-name":"web-0"},
            "ownerReferences":[{"apiVersion":"apps/v1","kind":"StatefulSet","name":"web","uid":"u1","controller":true}]},
          "spec":{"nodeName":"node-0","containers":[{"name":"nginx","image":"nginx-slim:0.24","ports":[{"containerPort":80}]}],
            "volumes":[{"name":"www","persistentVolumeClaim":{"claimName":"www-web-0"}}]},
          "status":{"phase":"Running","hostIP":"10.0.0.1","podIP":"10.244.0.5","podIPs":[{"ip":"10.244.0.5"}],"startTime":"2026-11-21T05:12:44Z",
            "conditions":[{"type":"Ready","status":"True"},{"type":"PodScheduled","status":"True"}],
            "containerStatuses":[{"name":"nginx","ready":true,"restartCount":0,"state":{"running":{"startedAt":"2026-11-21T05:12:45Z"}}}]}});
        // As Go's tabwriter: a line without a tab ends a column block, so `  IP:` aligns
        // with `Controlled By:` and the last volume's fields with `QoS Class:`.
        let got = describe_pod(&pod, &[], NOW);
        let want = "\
Name:         web-0
Namespace:    default
Node:         node-0/10.0.0.1
Start Time:   Sat, 21 Nov 2026 05:12:44 +0000
Labels:       app=nginx
              statefulset.kubernetes.io/pod-name=web-0
Annotations:  <none>
Status:       Running
IP:           10.244.0.5
IPs:
  IP:           10.244.0.5
Controlled By:  StatefulSet/web
Containers:
  nginx:
    Container ID:   
    Image:          nginx-slim:0.24
    Image ID:       
    Port:           80/TCP
    Host Port:      0/TCP
    State:          Running
      Started:      Sat, 21 Nov 2026 05:12:45 +0000
    Ready:          True
    Restart Count:  0
    Environment:    <none>
    Mounts:         <none>
Conditions:
  Type           Status
  Ready          True 
  PodScheduled   True 
Volumes:
  www:
    Type:        PersistentVolumeClaim (a reference to a PersistentVolumeClaim in the same namespace)
    ClaimName:   www-web-0
    ReadOnly:    false
QoS Class:       BestEffort
Node-Selectors:  <none>
Tolerations:     <none>
Events:          <none>
";
        assert_eq!(got, want, "\n{got}");
    }
}
