//! kubectl's output shapes: tables (Go `text/tabwriter` with kubectl's settings),
//! `AGE` as `duration.HumanDuration`, `-o yaml|json|name`.

use serde_json::Value;

/// Go's `text/tabwriter` (cells are tab-terminated; the last cell of a line is not
/// part of a column; a column block is a run of consecutive lines that have that
/// column). With `remember`, widths never shrink between flushes (kubectl's
/// `RememberWidths`, which keeps `get -w` rows aligned with the header).
#[derive(Debug, Clone)]
pub struct TabWriter {
    minwidth: usize,
    padding: usize,
    remember: bool,
    remembered: Vec<usize>,
    lines: Vec<Vec<String>>,
}

impl TabWriter {
    /// kubectl's table writer: minwidth 6, padding 3, remembered widths.
    pub fn table() -> TabWriter {
        TabWriter { minwidth: 6, padding: 3, remember: true, remembered: Vec::new(), lines: Vec::new() }
    }

    /// kubectl describe's writer: minwidth 0, padding 2.
    pub fn describe() -> TabWriter {
        TabWriter { minwidth: 0, padding: 2, remember: false, remembered: Vec::new(), lines: Vec::new() }
    }

    /// Adds text; `\t` ends a cell, `\n` a line.
    pub fn write(&mut self, text: &str) {
        for (i, piece) in text.split('\n').enumerate() {
            if i > 0 || self.lines.is_empty() {
                self.lines.push(vec![String::new()]);
            }
            let line = self.lines.last_mut().unwrap();
            for (j, cell) in piece.split('\t').enumerate() {
                if j > 0 {
                    line.push(String::new());
                }
                line.last_mut().unwrap().push_str(cell);
            }
        }
    }

    /// Adds one row of cells (tab-separated, newline-terminated).
    pub fn row<S: AsRef<str>>(&mut self, cells: &[S]) {
        let joined: Vec<&str> = cells.iter().map(|c| c.as_ref()).collect();
        self.write(&format!("{}\n", joined.join("\t")));
    }

    /// Formats everything written so far and clears it.
    pub fn flush(&mut self) -> String {
        let mut lines = std::mem::take(&mut self.lines);
        // The trailing piece after the last '\n' is an unterminated (empty) line.
        if lines.last().is_some_and(|l| l.len() == 1 && l[0].is_empty()) {
            lines.pop();
        }
        let mut out = String::new();
        let mut widths = Vec::new();
        self.format(&lines, &mut widths, 0, lines.len(), &mut out);
        out
    }

    fn format(
        &mut self,
        lines: &[Vec<String>],
        widths: &mut Vec<usize>,
        mut line0: usize,
        line1: usize,
        out: &mut String,
    ) {
        let column = widths.len();
        let mut this = line0;
        while this < line1 {
            if column + 1 >= lines[this].len() {
                this += 1;
                continue;
            }
            write_lines(lines, widths, line0, this, out);
            line0 = this;
            let mut width = self.minwidth;
            while this < line1 && column + 1 < lines[this].len() {
                width = width.max(lines[this][column].chars().count() + self.padding);
                this += 1;
            }
            if self.remember {
                if column < self.remembered.len() {
                    width = width.max(self.remembered[column]);
                    self.remembered[column] = width;
                } else {
                    self.remembered.push(width);
                }
            }
            widths.push(width);
            self.format(lines, widths, line0, this, out);
            widths.pop();
            line0 = this;
        }
        write_lines(lines, widths, line0, line1, out);
    }
}

fn write_lines(lines: &[Vec<String>], widths: &[usize], from: usize, to: usize, out: &mut String) {
    for line in &lines[from..to] {
        for (j, cell) in line.iter().enumerate() {
            out.push_str(cell);
            if j + 1 < line.len() && j < widths.len() {
                let w = cell.chars().count();
                out.extend(std::iter::repeat_n(' ', widths[j].saturating_sub(w)));
            }
        }
        out.push('\n');
    }
}

/// `duration.HumanDuration` from k8s.io/apimachinery (seconds).
pub fn human_duration(secs: i64) -> String {
    if secs < -1 {
        return "<invalid>".into();
    }
    if secs < 0 {
        return "0s".into();
    }
    if secs < 60 * 2 {
        return format!("{secs}s");
    }
    let minutes = secs / 60;
    if minutes < 10 {
        let s = secs % 60;
        return if s == 0 { format!("{minutes}m") } else { format!("{minutes}m{s}s") };
    }
    if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = secs / 3600;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 { format!("{hours}h") } else { format!("{hours}h{m}m") };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 { format!("{}d", hours / 24) } else { format!("{}d{h}h", hours / 24) };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        return if dy == 0 { format!("{}y", hours / 24 / 365) } else { format!("{}y{dy}d", hours / 24 / 365) };
    }
    format!("{}y", hours / 24 / 365)
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Parses an RFC 3339 timestamp (`2026-11-21T05:12:44Z`, fractions and offsets allowed) to Unix seconds.
pub fn parse_time(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let n = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d, h, mi, se) = (n(0..4)?, n(5..7)?, n(8..10)?, n(11..13)?, n(14..16)?, n(17..19)?);
    let mut rest = &s[19..];
    if let Some(r) = rest.strip_prefix('.') {
        let end = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
        rest = &r[end..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6 && (rest.starts_with('+') || rest.starts_with('-')) => {
            let sign = if rest.starts_with('-') { -1 } else { 1 };
            sign * (rest[1..3].parse::<i64>().ok()? * 3600 + rest[4..6].parse::<i64>().ok()? * 60)
        }
        _ => return None,
    };
    Some(days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - offset)
}

/// Go's `time.RFC1123Z` in UTC, as `kubectl describe` prints times: `Sat, 21 Nov 2026 05:12:44 +0000`.
pub fn rfc1123z(unix: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let days = unix.div_euclid(86400);
    let secs = unix.rem_euclid(86400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{}, {d:02} {} {y} {:02}:{:02}:{:02} +0000",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[(m - 1) as usize],
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Now, in Unix seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// kubectl's `translateTimestampSince`: `<unknown>` for a missing time.
pub fn age(ts: Option<&str>, now: i64) -> String {
    match ts.and_then(parse_time) {
        Some(t) => human_duration(now - t),
        None => "<unknown>".into(),
    }
}

// ---------- JSON helpers ----------

/// The string at a JSON pointer, or "".
pub fn s<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

/// The integer at a JSON pointer, or 0.
pub fn i(v: &Value, ptr: &str) -> i64 {
    v.pointer(ptr).and_then(Value::as_i64).unwrap_or(0)
}

/// The array at a JSON pointer, or empty.
pub fn arr<'a>(v: &'a Value, ptr: &str) -> &'a [Value] {
    v.pointer(ptr).and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[])
}

fn or_none(s: &str) -> String {
    if s.is_empty() { "<none>".into() } else { s.to_string() }
}

// ---------- tables ----------

use super::resource::Resource;

/// The column headers of `res` (`wide` adds kubectl's wide columns).
pub fn headers(res: &Resource, wide: bool) -> Vec<&'static str> {
    let mut h: Vec<&'static str> = match res.plural {
        "pods" => vec!["NAME", "READY", "STATUS", "RESTARTS", "AGE"],
        "statefulsets" => vec!["NAME", "READY", "AGE"],
        "persistentvolumeclaims" => {
            vec!["NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS MODES", "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "AGE"]
        }
        "services" => vec!["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"],
        "endpointslices" => vec!["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"],
        "controllerrevisions" => vec!["NAME", "CONTROLLER", "REVISION", "AGE"],
        "events" => vec!["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"],
        "namespaces" => vec!["NAME", "STATUS", "AGE"],
        _ => vec!["NAME", "AGE"],
    };
    if wide {
        match res.plural {
            "pods" => h.extend(["IP", "NODE", "NOMINATED NODE", "READINESS GATES"]),
            "statefulsets" => h.extend(["CONTAINERS", "IMAGES"]),
            "persistentvolumeclaims" => h.push("VOLUMEMODE"),
            "services" => h.push("SELECTOR"),
            "controllerrevisions" => {}
            _ => {}
        }
    }
    h
}

/// One table row for `obj` (`now` in Unix seconds).
pub fn row(res: &Resource, obj: &Value, wide: bool, now: i64) -> Vec<String> {
    let name = s(obj, "/metadata/name").to_string();
    let created = obj.pointer("/metadata/creationTimestamp").and_then(Value::as_str);
    let age = age(created, now);
    match res.plural {
        "pods" => pod_row(obj, name, age, wide, now),
        "statefulsets" => {
            let replicas = obj.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1);
            let mut r = vec![name, format!("{}/{}", i(obj, "/status/readyReplicas"), replicas), age];
            if wide {
                let cs = arr(obj, "/spec/template/spec/containers");
                r.push(cs.iter().map(|c| s(c, "/name")).collect::<Vec<_>>().join(","));
                r.push(cs.iter().map(|c| s(c, "/image")).collect::<Vec<_>>().join(","));
            }
            r
        }
        "persistentvolumeclaims" => {
            let mut phase = s(obj, "/status/phase").to_string();
            if obj.pointer("/metadata/deletionTimestamp").is_some_and(|v| !v.is_null()) {
                phase = "Terminating".into();
            }
            let volume = s(obj, "/spec/volumeName").to_string();
            let (capacity, modes) = if volume.is_empty() {
                (String::new(), String::new())
            } else {
                (s(obj, "/status/capacity/storage").to_string(), access_modes(arr(obj, "/status/accessModes")))
            };
            let mut class = s(obj, "/spec/storageClassName").to_string();
            if class.is_empty() {
                class = s(obj, "/metadata/annotations/volume.beta.kubernetes.io~1storage-class").to_string();
            }
            let vac = or_unset(s(obj, "/spec/volumeAttributesClassName"));
            let mut r = vec![name, phase, volume, capacity, modes, class, vac, age];
            if wide {
                let mode = s(obj, "/spec/volumeMode");
                r.push(if mode.is_empty() { "<unset>".into() } else { mode.to_string() });
            }
            r
        }
        "services" => {
            let ty = match s(obj, "/spec/type") {
                "" => "ClusterIP",
                t => t,
            };
            let cluster_ip = or_none(s(obj, "/spec/clusterIP"));
            let ports: Vec<String> = arr(obj, "/spec/ports")
                .iter()
                .map(|p| {
                    let proto = match s(p, "/protocol") {
                        "" => "TCP",
                        p => p,
                    };
                    match p.pointer("/nodePort").and_then(Value::as_i64) {
                        Some(np) if np != 0 => format!("{}:{np}/{proto}", i(p, "/port")),
                        _ => format!("{}/{proto}", i(p, "/port")),
                    }
                })
                .collect();
            let ports = if ports.is_empty() { "<none>".into() } else { ports.join(",") };
            let mut r = vec![name, ty.to_string(), cluster_ip, external_ip(obj, ty), ports, age];
            if wide {
                let sel = obj.pointer("/spec/selector").and_then(Value::as_object);
                r.push(match sel {
                    Some(m) if !m.is_empty() => {
                        m.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or(""))).collect::<Vec<_>>().join(",")
                    }
                    _ => "<none>".into(),
                });
            }
            r
        }
        "endpointslices" => {
            let ports: Vec<String> = arr(obj, "/ports")
                .iter()
                .map(|p| match p.pointer("/port").and_then(Value::as_i64) {
                    Some(n) => n.to_string(),
                    None => match p.pointer("/name").and_then(Value::as_str) {
                        Some(n) => n.to_string(),
                        None => "*".into(),
                    },
                })
                .collect();
            let addrs: Vec<String> = arr(obj, "/endpoints")
                .iter()
                .flat_map(|e| arr(e, "/addresses").iter().map(|a| a.as_str().unwrap_or("").to_string()))
                .collect();
            vec![name, s(obj, "/addressType").to_string(), list_with_more(&ports), list_with_more(&addrs), age]
        }
        "controllerrevisions" => {
            let owner = arr(obj, "/metadata/ownerReferences")
                .iter()
                .find(|o| o.get("controller").and_then(Value::as_bool) == Some(true));
            let controller = match owner {
                Some(o) => {
                    let group = s(o, "/apiVersion").split_once('/').map(|(g, _)| g).unwrap_or("");
                    let kind = s(o, "/kind").to_ascii_lowercase();
                    if group.is_empty() {
                        format!("{kind}/{}", s(o, "/name"))
                    } else {
                        format!("{kind}.{group}/{}", s(o, "/name"))
                    }
                }
                None => "<none>".into(),
            };
            vec![name, controller, i(obj, "/revision").to_string(), age]
        }
        "events" => {
            let last = obj
                .pointer("/lastTimestamp")
                .and_then(Value::as_str)
                .or_else(|| obj.pointer("/eventTime").and_then(Value::as_str))
                .or_else(|| obj.pointer("/firstTimestamp").and_then(Value::as_str));
            let count = i(obj, "/count");
            let mut last_seen = self::age(last, now);
            if count > 1 {
                last_seen = format!(
                    "{last_seen} (x{count} over {})",
                    self::age(obj.pointer("/firstTimestamp").and_then(Value::as_str).or(last), now)
                );
            }
            let kind = s(obj, "/involvedObject/kind").to_ascii_lowercase();
            let object = format!("{kind}/{}", s(obj, "/involvedObject/name"));
            vec![
                last_seen,
                s(obj, "/type").to_string(),
                s(obj, "/reason").to_string(),
                object,
                s(obj, "/message").trim().to_string(),
            ]
        }
        "namespaces" => vec![name, s(obj, "/status/phase").to_string(), age],
        _ => vec![name, age],
    }
}

fn or_unset(s: &str) -> String {
    if s.is_empty() { "<unset>".into() } else { s.to_string() }
}

fn list_with_more(list: &[String]) -> String {
    const MAX: usize = 3;
    if list.len() > MAX {
        return format!("{} + {} more...", list[..MAX].join(","), list.len() - MAX);
    }
    if list.is_empty() { "<unset>".into() } else { list.join(",") }
}

fn access_modes(modes: &[Value]) -> String {
    let mut out: Vec<&str> = Vec::new();
    for m in modes {
        let short = match m.as_str().unwrap_or("") {
            "ReadWriteOnce" => "RWO",
            "ReadOnlyMany" => "ROX",
            "ReadWriteMany" => "RWX",
            "ReadWriteOncePod" => "RWOP",
            _ => continue,
        };
        if !out.contains(&short) {
            out.push(short);
        }
    }
    out.join(",")
}

fn external_ip(svc: &Value, ty: &str) -> String {
    let external: Vec<&str> = arr(svc, "/spec/externalIPs").iter().filter_map(Value::as_str).collect();
    match ty {
        "ClusterIP" | "NodePort" => {
            if external.is_empty() {
                "<none>".into()
            } else {
                external.join(",")
            }
        }
        "LoadBalancer" => {
            let mut ips: Vec<String> = arr(svc, "/status/loadBalancer/ingress")
                .iter()
                .map(|i| {
                    let ip = s(i, "/ip");
                    if ip.is_empty() { s(i, "/hostname").to_string() } else { ip.to_string() }
                })
                .collect();
            ips.extend(external.iter().map(|s| s.to_string()));
            if ips.is_empty() { "<pending>".into() } else { ips.join(",") }
        }
        "ExternalName" => s(svc, "/spec/externalName").to_string(),
        _ => "<unknown>".into(),
    }
}

/// kubectl's `printPod` STATUS/READY/RESTARTS logic (regular containers).
fn pod_row(pod: &Value, name: String, age: String, wide: bool, now: i64) -> Vec<String> {
    let total = arr(pod, "/spec/containers").len();
    let mut ready = 0;
    let mut restarts = 0;
    let phase = s(pod, "/status/phase");
    let mut reason =
        if s(pod, "/status/reason").is_empty() { phase.to_string() } else { s(pod, "/status/reason").to_string() };
    let mut initializing = false;
    let mut last_restart: Option<i64> = None;
    let inits = arr(pod, "/status/initContainerStatuses");
    let n_init = arr(pod, "/spec/initContainers").len();
    for (idx, c) in inits.iter().enumerate() {
        restarts += i(c, "/restartCount");
        if c.pointer("/state/terminated").is_some() && i(c, "/state/terminated/exitCode") == 0 {
            continue;
        }
        if let Some(t) = c.pointer("/state/terminated") {
            reason = if s(t, "/reason").is_empty() {
                format!("Init:ExitCode:{}", i(t, "/exitCode"))
            } else {
                format!("Init:{}", s(t, "/reason"))
            };
        } else if !s(c, "/state/waiting/reason").is_empty() && s(c, "/state/waiting/reason") != "PodInitializing" {
            reason = format!("Init:{}", s(c, "/state/waiting/reason"));
        } else {
            reason = format!("Init:{idx}/{n_init}");
        }
        initializing = true;
        break;
    }
    if !initializing {
        restarts = 0;
        let mut has_running = false;
        for c in arr(pod, "/status/containerStatuses").iter().rev() {
            restarts += i(c, "/restartCount");
            if let Some(t) = c.pointer("/lastState/terminated/finishedAt").and_then(Value::as_str).and_then(parse_time)
            {
                last_restart = last_restart.max(Some(t));
            }
            let waiting = s(c, "/state/waiting/reason");
            let term = c.pointer("/state/terminated").filter(|t| !t.is_null());
            if !waiting.is_empty() {
                reason = waiting.to_string();
            } else if let Some(t) = term {
                reason = if !s(t, "/reason").is_empty() {
                    s(t, "/reason").to_string()
                } else if i(t, "/signal") != 0 {
                    format!("Signal:{}", i(t, "/signal"))
                } else {
                    format!("ExitCode:{}", i(t, "/exitCode"))
                };
            } else if c.get("ready").and_then(Value::as_bool) == Some(true)
                && c.pointer("/state/running").is_some_and(|r| !r.is_null())
            {
                has_running = true;
                ready += 1;
            }
        }
        if reason == "Completed" && has_running {
            let ready_cond =
                arr(pod, "/status/conditions").iter().any(|c| s(c, "/type") == "Ready" && s(c, "/status") == "True");
            reason = if ready_cond { "Running".into() } else { "NotReady".into() };
        }
    }
    let deleting = pod.pointer("/metadata/deletionTimestamp").is_some_and(|v| !v.is_null());
    if deleting && s(pod, "/status/reason") == "NodeLost" {
        reason = "Unknown".into();
    } else if deleting && phase != "Failed" && phase != "Succeeded" {
        reason = "Terminating".into();
    }
    let restarts = match last_restart {
        Some(t) if restarts != 0 => format!("{restarts} ({} ago)", human_duration(now - t)),
        _ => restarts.to_string(),
    };
    let mut r = vec![name, format!("{ready}/{total}"), reason, restarts, age];
    if wide {
        r.push(or_none(s(pod, "/status/podIP")));
        r.push(or_none(s(pod, "/spec/nodeName")));
        r.push(or_none(s(pod, "/status/nominatedNodeName")));
        let gates = arr(pod, "/spec/readinessGates");
        if gates.is_empty() {
            r.push("<none>".into());
        } else {
            let conds = arr(pod, "/status/conditions");
            let true_count = gates
                .iter()
                .filter(|g| conds.iter().any(|c| s(c, "/type") == s(g, "/conditionType") && s(c, "/status") == "True"))
                .count();
            r.push(format!("{true_count}/{}", gates.len()));
        }
    }
    r
}

/// `kind/name` for `-o name` and multi-type tables: `pod/web-0`, `statefulset.apps/web`.
pub fn name_of(res: &Resource, obj: &Value) -> String {
    format!("{}/{}", res.qualified(), s(obj, "/metadata/name"))
}

// ---------- -o json / yaml ----------

/// `-o json`: 4-space indented, keys sorted (as kubectl prints unstructured objects).
pub fn to_json(v: &Value) -> String {
    use serde::Serialize;
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    v.serialize(&mut ser).expect("JSON values serialize");
    let mut s = String::from_utf8(buf).expect("serde_json writes UTF-8");
    s.push('\n');
    s
}

/// `-o yaml` as kubectl (sigs.k8s.io/yaml → go-yaml v2) writes it: keys sorted, two
/// spaces, sequences not indented under their key, strings quoted only when needed.
pub fn to_yaml(v: &Value) -> String {
    let mut out = String::new();
    yaml_value(v, 0, &mut out, Ctx::Top);
    out
}

#[derive(Clone, Copy, PartialEq)]
enum Ctx {
    Top,
    MapValue,
    SeqItem,
}

fn yaml_value(v: &Value, indent: usize, out: &mut String, ctx: Ctx) {
    let pad = " ".repeat(indent);
    match v {
        Value::Object(m) if !m.is_empty() => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            for (n, k) in keys.into_iter().enumerate() {
                let val = &m[k];
                // The first key of a sequence item sits on the `- ` line.
                if !(ctx == Ctx::SeqItem && n == 0) {
                    out.push_str(&pad);
                }
                out.push_str(&yaml_scalar_str(k, 0, None));
                out.push(':');
                match val {
                    Value::Object(mm) if !mm.is_empty() => {
                        out.push('\n');
                        yaml_value(val, indent + 2, out, Ctx::MapValue);
                    }
                    Value::Array(a) if !a.is_empty() => {
                        out.push('\n');
                        yaml_value(val, indent, out, Ctx::MapValue);
                    }
                    _ => {
                        out.push(' ');
                        // The scalar starts after `key: `; folded lines continue two deeper.
                        yaml_inline(
                            val,
                            indent + 2,
                            Some(indent + yaml_scalar_str(k, 0, None).chars().count() + 2),
                            out,
                        );
                        out.push('\n');
                    }
                }
            }
        }
        Value::Array(a) if !a.is_empty() => {
            for (n, item) in a.iter().enumerate() {
                if !(ctx == Ctx::SeqItem && n == 0) {
                    out.push_str(&pad);
                }
                out.push_str("- ");
                match item {
                    Value::Object(m) if !m.is_empty() => yaml_value(item, indent + 2, out, Ctx::SeqItem),
                    Value::Array(aa) if !aa.is_empty() => yaml_value(item, indent + 2, out, Ctx::SeqItem),
                    _ => {
                        yaml_inline(item, indent + 2, Some(indent + 2), out);
                        out.push('\n');
                    }
                }
            }
        }
        _ => {
            yaml_inline(v, indent, None, out);
            out.push('\n');
        }
    }
}

/// `col`: the column the scalar starts at, when long plain or single-quoted strings may be
/// folded (go-yaml breaks at a space once a line is past 80 columns); continuation lines are
/// indented by `indent`.
fn yaml_inline(v: &Value, indent: usize, col: Option<usize>, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => out.push_str(&yaml_scalar_str(s, indent, col)),
        Value::Object(_) => out.push_str("{}"),
        Value::Array(_) => out.push_str("[]"),
    }
}

/// Whether go-yaml would resolve the plain scalar to something other than a string.
fn resolves_non_string(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n" | "null" | "~" | ".inf" | "-.inf" | "+.inf" | ".nan"
    ) {
        return true;
    }
    if s.parse::<f64>().is_ok() || (s.starts_with("0x") && i64::from_str_radix(&s[2..], 16).is_ok()) {
        return true;
    }
    // Timestamps (2006-01-02...).
    let b = s.as_bytes();
    b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[7] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
}

/// go-yaml's line folding of plain and single-quoted scalars (`best_width` 80).
fn fold(text: &str, mut col: usize, cont: usize) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut prev_space = false;
    for (i, &c) in chars.iter().enumerate() {
        if c == ' ' {
            if !prev_space && col > 80 && chars.get(i + 1).is_some_and(|n| *n != ' ') {
                out.push('\n');
                out.extend(std::iter::repeat_n(' ', cont));
                col = cont;
            } else {
                out.push(' ');
                col += 1;
            }
            prev_space = true;
        } else {
            out.push(c);
            col += 1;
            prev_space = false;
        }
    }
    out
}

fn yaml_scalar_str(s: &str, indent: usize, col: Option<usize>) -> String {
    if s.is_empty() {
        return "\"\"".into();
    }
    if resolves_non_string(s) {
        return format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
    }
    if s.contains('\n') && !s.chars().any(|c| c.is_control() && c != '\n') && !s.starts_with(' ') {
        let pad = " ".repeat(indent);
        let chomp = if s.ends_with('\n') { "" } else { "-" };
        let body: Vec<String> = s
            .trim_end_matches('\n')
            .split('\n')
            .map(|l| if l.is_empty() { String::new() } else { format!("{pad}{l}") })
            .collect();
        return format!("|{chomp}\n{}", body.join("\n"));
    }
    let first = s.chars().next().unwrap();
    let special_first = match first {
        '-' | '?' | ':' => s.len() == 1 || s[1..].starts_with(' '),
        c => "[]{},#&*!|>'\"%@`".contains(c),
    };
    let plain_ok = !special_first
        && !s.starts_with(' ')
        && !s.ends_with(' ')
        && !s.contains(": ")
        && !s.contains(" #")
        && !s.ends_with(':')
        && !s.chars().any(|c| c.is_control());
    if plain_ok {
        return match col {
            Some(c) => fold(s, c, indent),
            None => s.to_string(),
        };
    }
    if !s.chars().any(|c| c.is_control()) {
        let quoted = s.replace('\'', "''");
        return match col {
            Some(c) => format!("'{}'", fold(&quoted, c + 1, indent)),
            None => format!("'{quoted}'"),
        };
    }
    serde_json::to_string(s).expect("strings serialize")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn human_durations_match_apimachinery() {
        for (secs, want) in [
            (-5, "<invalid>"),
            (-1, "0s"),
            (0, "0s"),
            (5, "5s"),
            (119, "119s"),
            (120, "2m"),
            (182, "3m2s"),
            (600, "10m"),
            (179 * 60, "179m"),
            (3 * 3600, "3h"),
            (3 * 3600 + 25 * 60, "3h25m"),
            (8 * 3600, "8h"),
            (47 * 3600, "47h"),
            (48 * 3600, "2d"),
            (50 * 3600, "2d2h"),
            (10 * 86400, "10d"),
            (2 * 365 * 86400, "2y"),
            (3 * 365 * 86400 + 5 * 86400, "3y5d"),
            (9 * 365 * 86400, "9y"),
        ] {
            assert_eq!(human_duration(secs), want, "{secs}");
        }
    }

    #[test]
    fn times() {
        assert_eq!(parse_time("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_time("2026-11-21T05:12:44Z"), Some(1795237964));
        assert_eq!(parse_time("2026-11-21T05:12:44.123456Z"), Some(1795237964));
        assert_eq!(parse_time("2026-11-21T06:12:44+01:00"), Some(1795237964));
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(rfc1123z(1795237964), "Sat, 21 Nov 2026 05:12:44 +0000");
        assert_eq!(rfc1123z(0), "Thu, 01 Jan 1970 00:00:00 +0000");
        assert_eq!(age(None, 0), "<unknown>");
    }

    #[test]
    fn tabwriter_matches_go() {
        let mut w = TabWriter::table();
        w.row(&["NAME", "READY", "STATUS", "RESTARTS", "AGE"]);
        w.row(&["web-0", "1/1", "Running", "0", "10s"]);
        w.row(&["web-1", "0/1", "ContainerCreating", "0", "2s"]);
        assert_eq!(
            w.flush(),
            "NAME    READY   STATUS              RESTARTS   AGE\n\
             web-0   1/1     Running             0          10s\n\
             web-1   0/1     ContainerCreating   0          2s\n"
        );
        // Remembered widths: a later, narrower row keeps the header's alignment; a wider one grows.
        w.row(&["web-2", "0/1", "Pending", "0", "0s"]);
        assert_eq!(w.flush(), "web-2   0/1     Pending             0          0s\n");
        // Minimum width 6 (padding included).
        let mut w = TabWriter::table();
        w.row(&["A", "B"]);
        assert_eq!(w.flush(), "A     B\n");
        // describe: column blocks end at a line without the column.
        let mut w = TabWriter::describe();
        w.write("Name:\tweb\nNamespace:\tdefault\nPod Template:\n  Labels:\tapp=nginx\n");
        assert_eq!(w.flush(), "Name:       web\nNamespace:  default\nPod Template:\n  Labels:  app=nginx\n");
    }

    fn at(secs_ago: i64) -> String {
        let t = 1_800_000_000 - secs_ago;
        let days = t.div_euclid(86400);
        let (y, m, d) = civil_from_days(days);
        let r = t.rem_euclid(86400);
        format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", r / 3600, r % 3600 / 60, r % 60)
    }

    fn table(res: &str, objs: &[Value], wide: bool) -> String {
        let r = super::super::resource::lookup(res).unwrap();
        let mut w = TabWriter::table();
        w.row(&headers(r, wide));
        for o in objs {
            w.row(&row(r, o, wide, 1_800_000_000));
        }
        w.flush()
    }

    #[test]
    fn pod_tables() {
        let running = json!({"metadata":{"name":"web-0","creationTimestamp":at(65)},
            "spec":{"containers":[{"name":"nginx"}],"nodeName":"node-0"},
            "status":{"phase":"Running","podIP":"10.244.0.5","conditions":[{"type":"Ready","status":"True"}],
              "containerStatuses":[{"name":"nginx","ready":true,"restartCount":0,"state":{"running":{"startedAt":at(60)}}}]}});
        let creating = json!({"metadata":{"name":"web-1","creationTimestamp":at(2)},
            "spec":{"containers":[{"name":"nginx"}]},
            "status":{"phase":"Pending","containerStatuses":[{"name":"nginx","ready":false,"restartCount":0,"state":{"waiting":{"reason":"ContainerCreating"}}}]}});
        let terminating = json!({"metadata":{"name":"web-2","creationTimestamp":at(3 * 3600 + 60),"deletionTimestamp":at(0)},
            "spec":{"containers":[{"name":"nginx"}]},"status":{"phase":"Running"}});
        let pending = json!({"metadata":{"name":"web-3","creationTimestamp":at(0)},"spec":{"containers":[{"name":"nginx"}]},"status":{"phase":"Pending"}});
        let failed = json!({"metadata":{"name":"web-4","creationTimestamp":at(182)},"spec":{"containers":[{"name":"nginx"}]},"status":{"phase":"Running",
            "containerStatuses":[{"name":"nginx","ready":false,"restartCount":2,"state":{"waiting":{"reason":"CrashLoopBackOff"}},
              "lastState":{"terminated":{"exitCode":1,"reason":"Error","finishedAt":at(30)}}}]}});
        assert_eq!(
            table("pods", &[running.clone(), creating.clone(), terminating, pending, failed], false),
            "NAME    READY   STATUS              RESTARTS      AGE\n\
             web-0   1/1     Running             0             65s\n\
             web-1   0/1     ContainerCreating   0             2s\n\
             web-2   0/1     Terminating         0             3h1m\n\
             web-3   0/1     Pending             0             0s\n\
             web-4   0/1     CrashLoopBackOff    2 (30s ago)   3m2s\n"
        );
        assert_eq!(
            table("pods", &[running, creating], true),
            "NAME    READY   STATUS              RESTARTS   AGE   IP           NODE     NOMINATED NODE   READINESS GATES\n\
             web-0   1/1     Running             0          65s   10.244.0.5   node-0   <none>           <none>\n\
             web-1   0/1     ContainerCreating   0          2s    <none>       <none>   <none>           <none>\n"
        );
    }

    #[test]
    fn other_tables() {
        let sts = json!({"metadata":{"name":"web","creationTimestamp":at(2 * 86400)},
            "spec":{"replicas":3,"template":{"spec":{"containers":[{"name":"nginx","image":"registry.k8s.io/nginx-slim:0.24"}]}}},
            "status":{"readyReplicas":2}});
        assert_eq!(table("sts", std::slice::from_ref(&sts), false), "NAME   READY   AGE\nweb    2/3     2d\n");
        assert_eq!(
            table("sts", &[sts], true),
            "NAME   READY   AGE   CONTAINERS   IMAGES\nweb    2/3     2d    nginx        registry.k8s.io/nginx-slim:0.24\n"
        );
        let pvc = json!({"metadata":{"name":"www-web-0","creationTimestamp":at(30)},
            "spec":{"volumeName":"pvc-1a2b","storageClassName":"standard"},
            "status":{"phase":"Bound","capacity":{"storage":"1Gi"},"accessModes":["ReadWriteOnce"]}});
        assert_eq!(
            table("pvc", &[pvc], false),
            "NAME        STATUS   VOLUME     CAPACITY   ACCESS MODES   STORAGECLASS   VOLUMEATTRIBUTESCLASS   AGE\n\
             www-web-0   Bound    pvc-1a2b   1Gi        RWO            standard       <unset>                 30s\n"
        );
        let headless = json!({"metadata":{"name":"nginx","creationTimestamp":at(5)},"spec":{"clusterIP":"None","ports":[{"port":80,"protocol":"TCP"}]}});
        let lb = json!({"metadata":{"name":"mysql-read","creationTimestamp":at(5)},"spec":{"type":"LoadBalancer","clusterIP":"10.96.0.12","ports":[{"port":3306,"nodePort":31234}]}});
        assert_eq!(
            table("svc", &[headless, lb], false),
            "NAME         TYPE           CLUSTER-IP   EXTERNAL-IP   PORT(S)          AGE\n\
             nginx        ClusterIP      None         <none>        80/TCP           5s\n\
             mysql-read   LoadBalancer   10.96.0.12   <pending>     3306:31234/TCP   5s\n"
        );
        let slice = json!({"metadata":{"name":"nginx-abcde","creationTimestamp":at(5)},"addressType":"IPv4","ports":[{"port":80,"name":"web"}],
            "endpoints":[{"addresses":["10.244.0.5"]},{"addresses":["10.244.1.6"]},{"addresses":["10.244.2.7"]},{"addresses":["10.244.0.8"]}]});
        let empty = json!({"metadata":{"name":"nginx-fghij","creationTimestamp":at(5)},"addressType":"IPv4"});
        assert_eq!(
            table("endpointslices", &[slice, empty], false),
            "NAME          ADDRESSTYPE   PORTS     ENDPOINTS                                      AGE\n\
             nginx-abcde   IPv4          80        10.244.0.5,10.244.1.6,10.244.2.7 + 1 more...   5s\n\
             nginx-fghij   IPv4          <unset>   <unset>                                        5s\n"
        );
        let rev = json!({"metadata":{"name":"web-6c5b9d5f5b","creationTimestamp":at(5),
            "ownerReferences":[{"apiVersion":"apps/v1","kind":"StatefulSet","name":"web","controller":true}]},"revision":2});
        assert_eq!(
            table("controllerrevisions", &[rev], false),
            "NAME             CONTROLLER             REVISION   AGE\nweb-6c5b9d5f5b   statefulset.apps/web   2          5s\n"
        );
    }

    #[test]
    fn yaml_folds_long_strings_like_go_yaml() {
        let v = json!({"status": {"conditions": [{"message": "0/3 nodes are available: 3 node(s) had untolerated taint {node-role.kubernetes.io/master: }. preemption: 0/3 nodes are available", "type": "PodScheduled"}]}});
        assert_eq!(
            to_yaml(&v),
            "status:\n  conditions:\n  - message: '0/3 nodes are available: 3 node(s) had untolerated taint {node-role.kubernetes.io/master:\n      }. preemption: 0/3 nodes are available'\n    type: PodScheduled\n"
        );
    }

    #[test]
    fn yaml_like_kubectl() {
        let v = json!({"apiVersion":"apps/v1","kind":"StatefulSet",
            "metadata":{"name":"web","resourceVersion":"12","creationTimestamp":"2026-11-21T05:12:44Z","labels":{},"annotations":{"a":"x: y","b":"line1\nline2\n"}},
            "spec":{"replicas":3,"template":{"spec":{"containers":[{"name":"nginx","ports":[{"containerPort":80,"name":"web"}],"args":["-c","*"]}]}}},
            "status":{"available": true, "empty": "", "on": "on"}});
        assert_eq!(
            to_yaml(&v),
            "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  annotations:\n    a: 'x: y'\n    b: |\n      line1\n      line2\n  creationTimestamp: \"2026-11-21T05:12:44Z\"\n  labels: {}\n  name: web\n  resourceVersion: \"12\"\nspec:\n  replicas: 3\n  template:\n    spec:\n      containers:\n      - args:\n        - -c\n        - '*'\n        name: nginx\n        ports:\n        - containerPort: 80\n          name: web\nstatus:\n  available: true\n  empty: \"\"\n  \"on\": \"on\"\n"
        );
    }
}
