//! `ordinal ctl`: the kubectl-like client of the embedded cluster's control API
//! (`docs/control-api.md`).
//!
//! - [`args`]: the command line, parsed like kubectl (flags anywhere, kubectl's
//!   errors); nothing is sent until it has parsed.
//! - `client`: a blocking HTTP/1.1 client over `std::net` (no new crates).
//! - `print`: tables through a port of Go's `text/tabwriter` with kubectl's
//!   settings, `AGE` as apimachinery's `HumanDuration`, `-o yaml|json|name`.
//! - `describe`: `kubectl describe statefulset|pod|service|pvc` layouts with the `Events:` table.
//! - `rollout`: `rollout status` with kubectl's StatefulSet status messages; `wait`: `wait --for`.
//! - `jsonpath`, `gotemplate`: the subsets of `-o jsonpath=` and `--template` one-liners use.
//! - `selector`: label selectors, checked before sending and re-applied to what comes back.
//!
//! See `docs/ctl.md` for the verbs, the requests each sends, and what is not supported.
//!
//! Objects are handled as `serde_json::Value`, so whatever the server adds is
//! printed by `-o yaml|json` and tolerated elsewhere.

pub mod args;
mod client;
mod describe;
mod gotemplate;
mod jsonpath;
mod print;
mod resource;
mod rollout;
mod selector;
mod wait;

use std::io::{self, Read, Write};
use std::time::Duration;

use serde_json::{Value, json};

pub use args::CtlArgs;
use args::{Cascade, Inject, Invocation, LabelColumns, Output, PatchType, Verb};
use client::{Client, ClientError, Response};
use print::TabWriter;
use resource::Resource;
use selector::Selector;

/// Runs `ordinal ctl <args>`; returns the process exit code.
pub fn run(args: &[String]) -> i32 {
    let env = std::env::var("ORDINAL_SERVER").ok();
    let stdout = io::stdout();
    let stderr = io::stderr();
    let mut out = stdout.lock();
    let mut err = stderr.lock();
    let inv = match args::parse(args, env.as_deref()) {
        Ok(inv) => inv,
        Err(e) => {
            let _ = writeln!(err, "error: {}", e.message);
            let _ = match e.verb {
                Some(v) => writeln!(err, "See 'ordinal ctl {v} --help' for usage."),
                None => writeln!(err, "Run 'ordinal ctl help' for usage."),
            };
            return 1;
        }
    };
    if let Verb::Help(topic) = &inv.verb {
        let _ = write!(out, "{}", help(topic));
        return 0;
    }
    let client = match Client::new(&inv.server) {
        Ok(c) => c,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            return 1;
        }
    };
    let mut ctl = Ctl { inv: &inv, client: &client, out: &mut out, err: &mut err, failed: false };
    let result = ctl.execute();
    let failed = ctl.failed;
    match result {
        Ok(()) => match out.flush() {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => 141,
            _ => i32::from(failed),
        },
        Err(CtlError::BrokenPipe) => 141,
        Err(e) => {
            let _ = out.flush();
            let _ = err.write_all(e.render().as_bytes());
            1
        }
    }
}

/// Why a command failed.
#[derive(Debug)]
pub(crate) enum CtlError {
    Client(ClientError),
    /// A `Status` (or other error body) from the server.
    Server {
        code: u16,
        body: Vec<u8>,
    },
    Msg(String),
    /// stdout was closed (`ordinal ctl get pods | head -1`): stop quietly, as kubectl dies of SIGPIPE.
    BrokenPipe,
}

impl From<ClientError> for CtlError {
    fn from(e: ClientError) -> Self {
        CtlError::Client(e)
    }
}

impl From<io::Error> for CtlError {
    fn from(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::BrokenPipe { CtlError::BrokenPipe } else { CtlError::Msg(e.to_string()) }
    }
}

impl CtlError {
    /// The text kubectl would print (newline-terminated).
    pub fn render(&self) -> String {
        match self {
            CtlError::Client(e) => format!("error: {e}\n"),
            CtlError::Msg(m) => format!("error: {m}\n"),
            CtlError::Server { code, body } => render_status(*code, body),
            CtlError::BrokenPipe => String::new(),
        }
    }
}

/// kubectl's `CheckErr` wording for an API error.
fn render_status(code: u16, body: &[u8]) -> String {
    let Ok(st) = serde_json::from_slice::<Value>(body) else {
        let text = String::from_utf8_lossy(body);
        return format!("Error from server: {code} {}\n", text.trim());
    };
    let reason = print::s(&st, "/reason");
    let message = print::s(&st, "/message");
    if reason == "Invalid" {
        let kind = print::s(&st, "/details/kind");
        let name = print::s(&st, "/details/name");
        let head = if !kind.is_empty() || !name.is_empty() {
            format!("The {kind} {name:?} is invalid")
        } else {
            "The request is invalid".into()
        };
        let causes: Vec<String> = print::arr(&st, "/details/causes")
            .iter()
            .map(|c| {
                let field = print::s(c, "/field");
                if field.is_empty() {
                    print::s(c, "/message").to_string()
                } else {
                    format!("{field}: {}", print::s(c, "/message"))
                }
            })
            .collect();
        return match causes.len() {
            0 if message.is_empty() => format!("{head}\n"),
            0 => format!("{head}: {message}\n"),
            1 => format!("{head}: {}\n", causes[0]),
            _ => format!("{head}: \n{}", causes.iter().map(|c| format!("* {c}\n")).collect::<String>()),
        };
    }
    if reason.is_empty() {
        return format!(
            "Error from server: {}\n",
            if message.is_empty() { format!("{code}") } else { message.to_string() }
        );
    }
    format!("Error from server ({reason}): {message}\n")
}

fn help(topic: &str) -> String {
    let verbs = "\
ordinal ctl controls the embedded cluster of a running `ordinal serve` (kubectl-like).

Basic commands:
  apply -f FILE|DIR                 Create or update objects from manifests
  get TYPE[,TYPE]|all [NAME...]     List objects (-o wide|yaml|json|name|jsonpath=|go-template=, -l SELECTOR, -w,
                                    --show-labels, -L KEY)
  describe sts|pod|svc|pvc NAME     Show details and events
  delete TYPE NAME... | -f FILE     Delete objects (--cascade=background|orphan|foreground,
                                    --force --grace-period=0, --wait=false)
  scale statefulset NAME --replicas N
  patch statefulset NAME -p PATCH [--type=merge|json]
  set image statefulset/NAME CONTAINER=IMAGE...
  rollout status statefulset NAME [--timeout DURATION]
  wait --for=condition=Ready|delete|jsonpath={.path}=VALUE TYPE NAME|-l SELECTOR [--timeout 30s]
  inject fail-pod POD | set-ready POD true|false | lose-node NODE | restore-node NODE

Resource types: statefulsets (sts), pods (po), persistentvolumeclaims (pvc),
  services (svc), endpointslices, controllerrevisions, events (ev), namespaces (ns)

Global flags:
  -s, --server URL          the ordinal admin API (env ORDINAL_SERVER; default http://127.0.0.1:8080)
  -n, --namespace NS        namespace (default \"default\")
  -A, --all-namespaces      list across all namespaces
";
    if topic.is_empty() { verbs.to_string() } else { format!("Usage: ordinal ctl {topic} ...\n\n{verbs}") }
}

/// One command's context.
pub(crate) struct Ctl<'a> {
    pub inv: &'a Invocation,
    pub client: &'a Client,
    pub out: &'a mut dyn Write,
    pub err: &'a mut dyn Write,
    /// Some part failed but the command went on (kubectl prints later objects too).
    pub failed: bool,
}

/// Query-string value encoding.
fn q(s: &str) -> String {
    resource::encode(s)
}

impl Ctl<'_> {
    fn execute(&mut self) -> Result<(), CtlError> {
        let inv = self.inv;
        match &inv.verb {
            Verb::Help(_) => Ok(()),
            Verb::Apply { files } => self.apply(files),
            Verb::Get { resources, names, watch, output, selector, columns } => {
                self.get(resources, names, *watch, output.clone(), selector.as_deref(), columns)
            }
            Verb::Describe { resource, names, selector } => {
                describe::describe(self, resource, names, selector.as_deref())
            }
            Verb::Scale { resource, name, replicas } => {
                let body = json!({"spec": {"replicas": replicas}}).to_string();
                self.patch_object(resource, name, "application/merge-patch+json", &body)?;
                writeln!(self.out, "{}/{name} scaled", resource.qualified())?;
                Ok(())
            }
            Verb::Patch { resource, name, patch, kind } => {
                let before = self.get_object(resource, inv.ns(), name)?;
                let ct = match kind {
                    PatchType::Merge => "application/merge-patch+json",
                    PatchType::Json => "application/json-patch+json",
                };
                let after = self.patch_object(resource, name, ct, patch)?;
                let unchanged = print::s(&before, "/metadata/resourceVersion")
                    == print::s(&after, "/metadata/resourceVersion")
                    && !print::s(&after, "/metadata/resourceVersion").is_empty();
                writeln!(
                    self.out,
                    "{}/{name} patched{}",
                    resource.qualified(),
                    if unchanged { " (no change)" } else { "" }
                )?;
                Ok(())
            }
            Verb::SetImage { resource, name, images } => self.set_image(resource, name, images),
            Verb::Delete { resource, names, files, cascade, grace_period, force, selector, wait } => {
                let ns = inv.ns().to_string();
                let targets: Vec<(&'static Resource, String, String)> = match resource {
                    Some(res) => {
                        let mut names = names.clone();
                        if let Some(sel) = selector {
                            let (items, _) = self.list(res, Some(sel))?;
                            names.extend(items.iter().map(|o| print::s(o, "/metadata/name").to_string()));
                            if names.is_empty() {
                                writeln!(self.err, "No resources found")?;
                                return Ok(());
                            }
                        }
                        names.into_iter().map(|n| (*res, ns.clone(), n)).collect()
                    }
                    None => objects_in_files(files, &ns)?,
                };
                self.delete(&targets, *cascade, *grace_period, *force, *wait)
            }
            Verb::RolloutStatus { resource, name, timeout } => rollout::status(self, resource, name, *timeout),
            Verb::Inject(i) => self.inject(i),
            Verb::Wait { resource, names, selector, cond, timeout } => {
                wait::wait(self, resource, names, selector.as_deref(), cond, *timeout)
            }
        }
    }

    /// Sends a request; a non-2xx answer becomes [`CtlError::Server`].
    pub(crate) fn call(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Result<Response, CtlError> {
        let resp = self.client.request_with(method, path, headers, body)?;
        if !(200..300).contains(&resp.status) {
            return Err(CtlError::Server { code: resp.status, body: resp.body });
        }
        Ok(resp)
    }

    pub(crate) fn get_json(&self, path: &str) -> Result<Value, CtlError> {
        let resp = self.call("GET", path, &[], None)?;
        serde_json::from_slice(&resp.body)
            .map_err(|e| CtlError::Msg(format!("bad response from ordinal for GET {path}: {e}")))
    }

    pub(crate) fn get_object(&self, res: &Resource, ns: &str, name: &str) -> Result<Value, CtlError> {
        self.get_json(&res.object_path(ns, name))
    }

    /// Lists `res` in the invocation's namespace (or all), filtered by `selector`.
    pub(crate) fn list(&self, res: &Resource, selector: Option<&str>) -> Result<(Vec<Value>, String), CtlError> {
        let ns = if self.inv.all_namespaces { None } else { Some(self.inv.ns()) };
        let mut path = res.collection_path(ns);
        if let Some(sel) = selector {
            path.push_str(&format!("?labelSelector={}", q(sel)));
        }
        let list = self.get_json(&path)?;
        let rv = print::s(&list, "/metadata/resourceVersion").to_string();
        let sel = selector.map(Selector::parse).transpose().map_err(CtlError::Msg)?;
        let mut items: Vec<Value> = print::arr(&list, "/items")
            .iter()
            .filter(|o| sel.as_ref().is_none_or(|s| s.matches_object(o)))
            .cloned()
            .collect();
        items.sort_by(|a, b| {
            (print::s(a, "/metadata/namespace"), print::s(a, "/metadata/name"))
                .cmp(&(print::s(b, "/metadata/namespace"), print::s(b, "/metadata/name")))
        });
        for it in &mut items {
            fill_type(res, it);
        }
        Ok((items, rv))
    }

    fn patch_object(&self, res: &Resource, name: &str, content_type: &str, body: &str) -> Result<Value, CtlError> {
        let resp = self.call(
            "PATCH",
            &res.object_path(self.inv.ns(), name),
            &[("Content-Type", content_type)],
            Some(body.as_bytes()),
        )?;
        Ok(serde_json::from_slice(&resp.body).unwrap_or(Value::Null))
    }

    fn apply(&mut self, files: &[std::path::PathBuf]) -> Result<(), CtlError> {
        // Read everything first: a missing file fails before anything is sent.
        let mut sources: Vec<(String, String)> = Vec::new();
        for f in files {
            if f.as_os_str() == "-" {
                let mut text = String::new();
                io::stdin().read_to_string(&mut text)?;
                sources.push(("-".into(), text));
                continue;
            }
            if !f.exists() {
                return Err(CtlError::Msg(format!("the path {:?} does not exist", f.display().to_string())));
            }
            let paths = crate::manifest::discover(std::slice::from_ref(f)).map_err(|e| CtlError::Msg(e.to_string()))?;
            for p in paths {
                let text = std::fs::read_to_string(&p)
                    .map_err(|e| CtlError::Msg(format!("cannot read {}: {e}", p.display())))?;
                sources.push((p.display().to_string(), text));
            }
        }
        if sources.is_empty() {
            return Err(CtlError::Msg("no objects passed to apply".into()));
        }
        for (source, text) in sources {
            // A header value must not carry control characters (a path could).
            let source: String = source.chars().map(|c| if c.is_control() { '?' } else { c }).collect();
            let headers = [("Content-Type", "application/yaml"), ("X-Ordinal-Source", source.as_str())];
            let resp = match self.call("POST", "/apply", &headers, Some(text.as_bytes())) {
                Ok(r) => r,
                Err(e @ CtlError::Server { .. }) => {
                    // kubectl goes on with the other files and exits 1 at the end.
                    self.out.flush()?;
                    self.err.write_all(e.render().as_bytes())?;
                    self.failed = true;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let v: Value = serde_json::from_slice(&resp.body)
                .map_err(|e| CtlError::Msg(format!("bad response from ordinal for apply: {e}")))?;
            for r in print::arr(&v, "/results") {
                let kind = print::s(r, "/kind").to_ascii_lowercase();
                let group = print::s(r, "/apiVersion").split_once('/').map(|(g, _)| g).unwrap_or("");
                let qualified = if group.is_empty() { kind } else { format!("{kind}.{group}") };
                writeln!(self.out, "{qualified}/{} {}", print::s(r, "/name"), print::s(r, "/action"))?;
            }
        }
        Ok(())
    }

    fn get(
        &mut self,
        resources: &[&'static Resource],
        names: &[String],
        watch: bool,
        output: Output,
        selector: Option<&str>,
        cols: &LabelColumns,
    ) -> Result<(), CtlError> {
        let now = print::now();
        let all = self.inv.all_namespaces;
        let ns = self.inv.ns().to_string();
        let mut found: Vec<(&'static Resource, Vec<Value>)> = Vec::new();
        let mut rv = String::new();
        let mut late_errors = String::new();
        for res in resources {
            if names.is_empty() {
                let (items, list_rv) = self.list(res, selector)?;
                rv = list_rv;
                found.push((res, items));
            } else {
                let mut items = Vec::new();
                for n in names {
                    match self.get_object(res, &ns, n) {
                        Ok(mut o) => {
                            fill_type(res, &mut o);
                            items.push(o);
                        }
                        Err(e @ CtlError::Server { .. }) => {
                            // Printed after the objects that were found, as kubectl does.
                            late_errors.push_str(&e.render());
                            self.failed = true;
                        }
                        Err(e) => return Err(e),
                    }
                }
                found.push((res, items));
            }
        }
        let multi = found.len() > 1;
        let total: usize = found.iter().map(|(_, i)| i.len()).sum();
        let mut tw = TabWriter::table();
        if total == 0 && names.is_empty() {
            let cluster_scoped = resources.iter().all(|r| !r.namespaced);
            if all || cluster_scoped {
                writeln!(self.err, "No resources found")?;
            } else {
                writeln!(self.err, "No resources found in {ns} namespace.")?;
            }
        } else {
            match &output {
                Output::Table | Output::Wide => {
                    let mut first = true;
                    for (res, items) in &found {
                        if items.is_empty() {
                            continue;
                        }
                        if !first {
                            writeln!(self.out)?;
                        }
                        first = false;
                        let mut t = TabWriter::table();
                        t.row(&table_headers(res, output == Output::Wide, all, cols));
                        for o in items {
                            t.row(&table_row(res, o, output == Output::Wide, all, multi, cols, now));
                        }
                        self.out.write_all(t.flush().as_bytes())?;
                        if !multi {
                            tw = t;
                        }
                    }
                }
                Output::Name => {
                    for (res, items) in &found {
                        for o in items {
                            writeln!(self.out, "{}", print::name_of(res, o))?;
                        }
                    }
                }
                Output::Yaml | Output::Json | Output::JsonPath(_) | Output::GoTemplate(_) => {
                    let items: Vec<Value> = found.iter().flat_map(|(_, i)| i.iter().cloned()).collect();
                    let doc = if names.len() == 1 && !multi && items.len() == 1 {
                        items.into_iter().next().unwrap()
                    } else {
                        json!({"apiVersion": "v1", "items": items, "kind": "List", "metadata": {"resourceVersion": ""}})
                    };
                    let text = match &output {
                        Output::Yaml => print::to_yaml(&doc),
                        Output::JsonPath(t) => jsonpath::execute(t, &doc).map_err(CtlError::Msg)?,
                        Output::GoTemplate(t) => gotemplate::execute(t, &doc).map_err(CtlError::Msg)?,
                        _ => print::to_json(&doc),
                    };
                    self.out.write_all(text.as_bytes())?;
                }
            }
        }
        self.out.flush()?;
        self.err.write_all(late_errors.as_bytes())?;
        if !watch {
            return Ok(());
        }
        if multi {
            return Err(CtlError::Msg("you may only specify a single resource type with --watch".into()));
        }
        let res = resources[0];
        let seen: std::collections::HashSet<(String, String)> = found[0]
            .1
            .iter()
            .map(|o| (print::s(o, "/metadata/uid").to_string(), print::s(o, "/metadata/resourceVersion").to_string()))
            .collect();
        let mut header_printed = total > 0;
        let scope = if all { None } else { Some(ns.as_str()) };
        let mut path = format!("{}?watch=true", res.collection_path(scope));
        if !rv.is_empty() {
            path.push_str(&format!("&resourceVersion={}", q(&rv)));
        }
        if let Some(sel) = selector {
            path.push_str(&format!("&labelSelector={}", q(sel)));
        }
        let sel = selector.map(Selector::parse).transpose().map_err(CtlError::Msg)?;
        let (status, mut lines) = self.client.stream(&path, None)?;
        if !(200..300).contains(&status) {
            let mut body = Vec::new();
            while let Some(l) = lines.next_line()? {
                body.extend_from_slice(l.as_bytes());
            }
            return Err(CtlError::Server { code: status, body });
        }
        while let Some(line) = lines.next_line()? {
            let Ok(ev) = serde_json::from_str::<Value>(&line) else { continue };
            let ty = print::s(&ev, "/type");
            let Some(mut obj) = ev.get("object").cloned() else { continue };
            if ty == "ERROR" {
                return Err(CtlError::Server { code: 500, body: obj.to_string().into_bytes() });
            }
            if ty == "BOOKMARK" {
                continue;
            }
            let key =
                (print::s(&obj, "/metadata/uid").to_string(), print::s(&obj, "/metadata/resourceVersion").to_string());
            if ty == "ADDED" && seen.contains(&key) {
                continue;
            }
            if !names.is_empty() && !names.iter().any(|n| n == print::s(&obj, "/metadata/name")) {
                continue;
            }
            if sel.as_ref().is_some_and(|s| !s.matches_object(&obj)) {
                continue;
            }
            fill_type(res, &mut obj);
            match &output {
                Output::Table | Output::Wide => {
                    if !header_printed {
                        tw.row(&table_headers(res, output == Output::Wide, all, cols));
                        header_printed = true;
                    }
                    tw.row(&table_row(res, &obj, output == Output::Wide, all, false, cols, print::now()));
                    self.out.write_all(tw.flush().as_bytes())?;
                }
                Output::Name => writeln!(self.out, "{}", print::name_of(res, &obj))?,
                Output::Yaml => write!(self.out, "---\n{}", print::to_yaml(&obj))?,
                Output::Json => self.out.write_all(print::to_json(&obj).as_bytes())?,
                Output::JsonPath(t) => {
                    self.out.write_all(jsonpath::execute(t, &obj).map_err(CtlError::Msg)?.as_bytes())?
                }
                Output::GoTemplate(t) => {
                    self.out.write_all(gotemplate::execute(t, &obj).map_err(CtlError::Msg)?.as_bytes())?
                }
            }
            self.out.flush()?;
        }
        Ok(())
    }

    fn set_image(&mut self, res: &Resource, name: &str, images: &[(String, String)]) -> Result<(), CtlError> {
        let obj = self.get_object(res, self.inv.ns(), name)?;
        let mut spec = obj.pointer("/spec/template/spec").cloned().unwrap_or(Value::Null);
        let mut patch_spec = serde_json::Map::new();
        for (container, image) in images {
            let mut matched = false;
            for field in ["initContainers", "containers"] {
                if let Some(list) = spec.get_mut(field).and_then(Value::as_array_mut) {
                    for c in list.iter_mut() {
                        if container == "*" || c.get("name").and_then(Value::as_str) == Some(container) {
                            c["image"] = Value::String(image.clone());
                            matched = true;
                            patch_spec.insert(field.to_string(), Value::Null);
                        }
                    }
                }
            }
            if !matched {
                return Err(CtlError::Msg(format!("unable to find container named {container:?}")));
            }
        }
        for (field, v) in patch_spec.iter_mut() {
            *v = spec[field.as_str()].clone();
        }
        let body = json!({"spec": {"template": {"spec": patch_spec}}}).to_string();
        self.patch_object(res, name, "application/merge-patch+json", &body)?;
        writeln!(self.out, "{}/{name} image updated", res.qualified())?;
        Ok(())
    }

    fn delete(
        &mut self,
        targets: &[(&'static Resource, String, String)],
        cascade: Cascade,
        grace: Option<i64>,
        force: bool,
        wait: bool,
    ) -> Result<(), CtlError> {
        if force && grace == Some(0) {
            writeln!(
                self.err,
                "Warning: Immediate deletion does not wait for confirmation that the running resource has been terminated. The resource may continue to run on the cluster indefinitely."
            )?;
        }
        let mut deleted: Vec<(&Resource, &str, &str, String)> = Vec::new();
        for (res, ns, name) in targets {
            let mut path = format!("{}?propagationPolicy={}", res.object_path(ns, name), cascade.policy());
            if let Some(g) = grace {
                path.push_str(&format!("&gracePeriodSeconds={g}"));
            }
            match self.call("DELETE", &path, &[], None) {
                Ok(resp) => {
                    let uid = serde_json::from_slice::<Value>(&resp.body)
                        .ok()
                        .map(|v| print::s(&v, "/metadata/uid").to_string())
                        .unwrap_or_default();
                    let verb = if force && grace == Some(0) { "force deleted" } else { "deleted" };
                    writeln!(self.out, "{} {name:?} {verb}", res.qualified())?;
                    self.out.flush()?;
                    deleted.push((res, ns, name, uid));
                }
                Err(e @ CtlError::Server { .. }) => {
                    self.err.write_all(e.render().as_bytes())?;
                    self.failed = true;
                }
                Err(e) => return Err(e),
            }
        }
        if wait {
            // kubectl waits until each object is gone (or replaced: same name, new uid).
            for (res, ns, name, uid) in deleted {
                loop {
                    match self.get_object(res, ns, name) {
                        Ok(o) if uid.is_empty() || print::s(&o, "/metadata/uid") == uid => {
                            std::thread::sleep(Duration::from_millis(100))
                        }
                        Ok(_) => break,
                        Err(CtlError::Server { code: 404, .. }) => break,
                        Err(e) => return Err(e),
                    }
                }
            }
        }
        Ok(())
    }

    fn inject(&mut self, i: &Inject) -> Result<(), CtlError> {
        let ns = self.inv.ns();
        let (body, done) = match i {
            Inject::FailPod(p) => {
                (json!({"action": "fail-pod", "namespace": ns, "name": p}), format!("pod/{p} failed"))
            }
            Inject::SetReady(p, r) => (
                json!({"action": "set-ready", "namespace": ns, "name": p, "ready": r}),
                format!("pod/{p} condition Ready set to {}", if *r { "True" } else { "False" }),
            ),
            Inject::LoseNode(n) => (json!({"action": "lose-node", "node": n}), format!("node/{n} lost")),
            Inject::RestoreNode(n) => (json!({"action": "restore-node", "node": n}), format!("node/{n} restored")),
        };
        self.call(
            "POST",
            "/ordinal/v1/inject",
            &[("Content-Type", "application/json")],
            Some(body.to_string().as_bytes()),
        )?;
        writeln!(self.out, "{done}")?;
        Ok(())
    }
}

/// The objects named in manifest files (for `delete -f`), read with the manifest loader.
fn objects_in_files(
    files: &[std::path::PathBuf],
    default_ns: &str,
) -> Result<Vec<(&'static Resource, String, String)>, CtlError> {
    let mut out = Vec::new();
    for f in files {
        if !f.exists() {
            return Err(CtlError::Msg(format!("the path {:?} does not exist", f.display().to_string())));
        }
        for p in crate::manifest::discover(std::slice::from_ref(f)).map_err(|e| CtlError::Msg(e.to_string()))? {
            let docs = crate::manifest::load_file(&p)
                .map_err(|errs| CtlError::Msg(errs.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")))?;
            for d in docs {
                let kind = d.object.kind().to_ascii_lowercase();
                let res = resource::lookup(&kind)
                    .ok_or_else(|| CtlError::Msg(format!("the server doesn't have a resource type {kind:?}")))?;
                let ns = d.object.namespace().unwrap_or(default_ns).to_string();
                out.push((res, ns, d.object.name().to_string()));
            }
        }
    }
    Ok(out)
}

/// Adds `kind`/`apiVersion` to list items that lack them (as kubectl does for output).
fn fill_type(res: &Resource, obj: &mut Value) {
    if let Some(m) = obj.as_object_mut() {
        m.entry("kind").or_insert_with(|| Value::String(res.kind.to_string()));
        let api = if res.group.is_empty() { res.version.to_string() } else { format!("{}/{}", res.group, res.version) };
        m.entry("apiVersion").or_insert_with(|| Value::String(api));
    }
}

fn table_headers(res: &Resource, wide: bool, all: bool, cols: &LabelColumns) -> Vec<String> {
    let mut h: Vec<String> = print::headers(res, wide).into_iter().map(str::to_string).collect();
    if all && res.namespaced {
        h.insert(0, "NAMESPACE".into());
    }
    // kubectl: `-L a/b` is headed `B`.
    h.extend(cols.keys.iter().map(|k| k.rsplit('/').next().unwrap_or(k).to_ascii_uppercase()));
    if cols.show_labels {
        h.push("LABELS".into());
    }
    h
}

fn table_row(
    res: &Resource,
    obj: &Value,
    wide: bool,
    all: bool,
    qualified_name: bool,
    cols: &LabelColumns,
    now: i64,
) -> Vec<String> {
    let mut r = print::row(res, obj, wide, now);
    if qualified_name && res.plural != "events" {
        r[0] = print::name_of(res, obj);
    }
    if all && res.namespaced {
        r.insert(0, print::s(obj, "/metadata/namespace").to_string());
    }
    let labels = obj.pointer("/metadata/labels").and_then(Value::as_object);
    for k in &cols.keys {
        r.push(labels.and_then(|l| l.get(k)).and_then(Value::as_str).unwrap_or("").to_string());
    }
    if cols.show_labels {
        let l: Vec<String> = labels
            .map(|l| l.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or(""))).collect())
            .unwrap_or_default();
        r.push(if l.is_empty() { "<none>".into() } else { l.join(",") });
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_status_renders_like_kubectl() {
        let body = br#"{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Invalid","code":422,
            "message":"StatefulSet.apps \"kubia\" is invalid: [spec.selector: Required value, spec.template.spec.volumeMounts: Invalid value]",
            "details":{"name":"kubia","kind":"StatefulSet","causes":[{"field":"spec.selector","message":"Required value"},
            {"field":"spec.template.spec.volumeMounts","message":"Invalid value"}]}}"#;
        assert_eq!(
            render_status(422, body),
            "The StatefulSet \"kubia\" is invalid: \n* spec.selector: Required value\n* spec.template.spec.volumeMounts: Invalid value\n"
        );
        let one = br#"{"reason":"Invalid","details":{"name":"web","kind":"StatefulSet","causes":[{"field":"spec.replicas","message":"Invalid value: -1: must be greater than or equal to 0"}]}}"#;
        assert_eq!(
            render_status(422, one),
            "The StatefulSet \"web\" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0\n"
        );
        let nf = br#"{"kind":"Status","reason":"NotFound","code":404,"message":"pods \"web-9\" not found"}"#;
        assert_eq!(render_status(404, nf), "Error from server (NotFound): pods \"web-9\" not found\n");
        assert_eq!(render_status(502, b"bad gateway"), "Error from server: 502 bad gateway\n");
    }
}
