//! `ordinal ctl` arguments, parsed the way kubectl (cobra + pflag) parses them.
//!
//! clap hands us the raw words after `ctl`; we parse them here so that flags may
//! come before or after the verb (`-n p1-dev get pods`, `get pods -n p1-dev`) and the
//! errors read like kubectl's (`error: unknown flag: --bogus`). Nothing is sent to the
//! server until the whole command line has parsed.

use crate::duration::parse_go_duration;
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::resource::{self, Resource};
use super::selector::Selector;

/// `ordinal ctl ...`: everything after `ctl`, parsed by [`parse`].
#[derive(Debug, Args)]
#[command(disable_help_flag = true)]
pub struct CtlArgs {
    /// kubectl-style verb, resource and flags, e.g. `get pods -o wide`; `ordinal ctl help` lists them.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
    pub args: Vec<String>,
}

/// The default server when neither `--server` nor `ORDINAL_SERVER` is given.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:8080";

/// A parsed command line.
#[derive(Debug, Clone, PartialEq)]
pub struct Invocation {
    pub server: String,
    /// `-n`; `None` means the default namespace.
    pub namespace: Option<String>,
    pub all_namespaces: bool,
    pub verb: Verb,
}

impl Invocation {
    pub fn ns(&self) -> &str {
        self.namespace.as_deref().unwrap_or("default")
    }
}

/// `-o` formats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    Table,
    /// `-o jsonpath=TEMPLATE`
    JsonPath(String),
    /// `-o go-template=TEMPLATE`, `--template TEMPLATE`
    GoTemplate(String),
    Wide,
    Yaml,
    Json,
    Name,
}

/// `--cascade`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cascade {
    Background,
    Orphan,
    Foreground,
}

impl Cascade {
    pub fn policy(self) -> &'static str {
        match self {
            Cascade::Background => "Background",
            Cascade::Orphan => "Orphan",
            Cascade::Foreground => "Foreground",
        }
    }
}

/// `get --show-labels` and `-L KEY,...`: extra label columns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabelColumns {
    pub show_labels: bool,
    pub keys: Vec<String>,
}

/// `patch --type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    Merge,
    Json,
}

/// `inject` actions.
#[derive(Debug, Clone, PartialEq)]
pub enum Inject {
    FailPod(String),
    SetReady(String, bool),
    LoseNode(String),
    RestoreNode(String),
}

/// What to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Verb {
    Help(String),
    Apply {
        files: Vec<PathBuf>,
    },
    Get {
        resources: Vec<&'static Resource>,
        names: Vec<String>,
        watch: bool,
        output: Output,
        selector: Option<String>,
        columns: LabelColumns,
    },
    Describe {
        resource: &'static Resource,
        names: Vec<String>,
        selector: Option<String>,
    },
    Scale {
        resource: &'static Resource,
        name: String,
        replicas: i64,
    },
    Patch {
        resource: &'static Resource,
        name: String,
        patch: String,
        kind: PatchType,
    },
    SetImage {
        resource: &'static Resource,
        name: String,
        images: Vec<(String, String)>,
    },
    /// `delete TYPE NAME...`, `delete TYPE -l SELECTOR` (`resource` set) or `delete -f FILE|DIR` (`files`).
    Delete {
        resource: Option<&'static Resource>,
        names: Vec<String>,
        files: Vec<PathBuf>,
        cascade: Cascade,
        grace_period: Option<i64>,
        force: bool,
        selector: Option<String>,
        wait: bool,
    },
    RolloutStatus {
        resource: &'static Resource,
        name: String,
        timeout: Option<Duration>,
    },
    Inject(Inject),
    /// `wait --for=... TYPE NAME... | TYPE -l SEL`.
    Wait {
        resource: &'static Resource,
        names: Vec<String>,
        selector: Option<String>,
        cond: WaitFor,
        timeout: Duration,
    },
}

/// `wait --for`.
#[derive(Debug, Clone, PartialEq)]
pub enum WaitFor {
    /// `condition=Ready[=true]`: `status.conditions[type].status` equals the value (case-insensitive).
    Condition(String, String),
    /// `delete`: the object (that uid) is gone.
    Delete,
    /// `jsonpath={.status.readyReplicas}=3` (or without `=value`: the path exists).
    JsonPath(String, Option<String>),
}

/// A command-line error: printed as `error: <msg>` (plus a usage hint), exit 1.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageError {
    pub message: String,
    /// The verb for `See 'ordinal ctl <verb> --help' for usage.`
    pub verb: Option<String>,
}

fn usage(message: impl Into<String>, verb: Option<&str>) -> UsageError {
    UsageError { message: message.into(), verb: verb.map(str::to_string) }
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Bool,
    Value,
}

struct Flag {
    long: &'static str,
    short: Option<char>,
    kind: Kind,
}

const fn f(long: &'static str, short: Option<char>, kind: Kind) -> Flag {
    Flag { long, short, kind }
}

const GLOBAL: &[Flag] = &[
    f("server", Some('s'), Kind::Value),
    f("namespace", Some('n'), Kind::Value),
    f("all-namespaces", Some('A'), Kind::Bool),
    f("help", Some('h'), Kind::Bool),
];

const APPLY_FLAGS: &[Flag] = &[f("filename", Some('f'), Kind::Value), f("recursive", Some('R'), Kind::Bool)];
const GET_FLAGS: &[Flag] = &[
    f("template", None, Kind::Value),
    f("show-labels", None, Kind::Bool),
    f("label-columns", Some('L'), Kind::Value),
    f("watch", Some('w'), Kind::Bool),
    f("output", Some('o'), Kind::Value),
    f("selector", Some('l'), Kind::Value),
];
const DESCRIBE_FLAGS: &[Flag] = &[f("selector", Some('l'), Kind::Value)];
const SCALE_FLAGS: &[Flag] = &[f("replicas", None, Kind::Value)];
const PATCH_FLAGS: &[Flag] = &[f("patch", Some('p'), Kind::Value), f("type", None, Kind::Value)];
const DELETE_FLAGS: &[Flag] = &[
    f("filename", Some('f'), Kind::Value),
    f("cascade", None, Kind::Value),
    f("force", None, Kind::Bool),
    f("grace-period", None, Kind::Value),
    f("now", None, Kind::Bool),
    f("selector", Some('l'), Kind::Value),
    f("wait", None, Kind::Bool),
];
const WAIT_FLAGS: &[Flag] =
    &[f("for", None, Kind::Value), f("timeout", None, Kind::Value), f("selector", Some('l'), Kind::Value)];
const ROLLOUT_FLAGS: &[Flag] = &[f("timeout", None, Kind::Value)];

fn verb_flags(verb: &str) -> &'static [Flag] {
    match verb {
        "apply" => APPLY_FLAGS,
        "get" => GET_FLAGS,
        "describe" => DESCRIBE_FLAGS,
        "scale" => SCALE_FLAGS,
        "patch" => PATCH_FLAGS,
        "delete" => DELETE_FLAGS,
        "rollout" => ROLLOUT_FLAGS,
        "wait" => WAIT_FLAGS,
        _ => &[],
    }
}

const VERBS: &[&str] =
    &["apply", "get", "describe", "scale", "patch", "set", "delete", "rollout", "wait", "inject", "help"];

/// Parsed flags: long name → values (last one wins for scalars).
#[derive(Default)]
struct Flags {
    values: HashMap<&'static str, Vec<String>>,
}

impl Flags {
    fn last(&self, long: &str) -> Option<&str> {
        self.values.get(long).and_then(|v| v.last()).map(String::as_str)
    }
    fn all(&self, long: &str) -> Vec<String> {
        self.values.get(long).cloned().unwrap_or_default()
    }
    fn bool(&self, long: &str, verb: &str) -> Result<bool, UsageError> {
        match self.last(long) {
            None => Ok(false),
            Some(v) => parse_bool(v).ok_or_else(|| {
                usage(
                    format!(
                        "invalid argument {v:?} for \"--{long}\" flag: strconv.ParseBool: parsing {v:?}: invalid syntax"
                    ),
                    Some(verb),
                )
            }),
        }
    }
}

fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// Splits `args` into flags and positionals against `table` (pflag rules: `--a=b`,
/// `--a b`, `-ab` for bools, `-nfoo`, `-n foo`, `--` ends flags).
fn scan(args: &[String], table: &[&Flag], verb: Option<&str>) -> Result<(Flags, Vec<String>), UsageError> {
    let mut flags = Flags::default();
    let mut positional = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        i += 1;
        if a == "--" {
            positional.extend(args[i..].iter().cloned());
            break;
        }
        if let Some(body) = a.strip_prefix("--") {
            let (name, inline) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (body, None),
            };
            let Some(flag) = table.iter().find(|fl| fl.long == name) else {
                return Err(usage(format!("unknown flag: --{name}"), verb));
            };
            let value = match (flag.kind, inline) {
                (_, Some(v)) => v,
                (Kind::Bool, None) => "true".to_string(),
                (Kind::Value, None) => {
                    let Some(v) = args.get(i) else {
                        return Err(usage(format!("flag needs an argument: --{name}"), verb));
                    };
                    i += 1;
                    v.clone()
                }
            };
            flags.values.entry(flag.long).or_default().push(value);
        } else if a.len() > 1 && a.starts_with('-') {
            let chars: Vec<char> = a[1..].chars().collect();
            let mut j = 0;
            while j < chars.len() {
                let c = chars[j];
                let Some(flag) = table.iter().find(|fl| fl.short == Some(c)) else {
                    return Err(usage(format!("unknown shorthand flag: '{c}' in {a}"), verb));
                };
                j += 1;
                match flag.kind {
                    Kind::Bool => {
                        let value = if chars.get(j) == Some(&'=') {
                            let v: String = chars[j + 1..].iter().collect();
                            j = chars.len();
                            v
                        } else {
                            "true".to_string()
                        };
                        flags.values.entry(flag.long).or_default().push(value);
                    }
                    Kind::Value => {
                        let rest: String = chars[j..].iter().collect();
                        let value = if let Some(v) = rest.strip_prefix('=') {
                            v.to_string()
                        } else if !rest.is_empty() {
                            rest
                        } else {
                            let Some(v) = args.get(i) else {
                                return Err(usage(format!("flag needs an argument: '{c}' in -{c}"), verb));
                            };
                            i += 1;
                            v.clone()
                        };
                        flags.values.entry(flag.long).or_default().push(value);
                        j = chars.len();
                    }
                }
            }
        } else {
            positional.push(a.clone());
        }
    }
    Ok((flags, positional))
}

/// Finds the verb: the first word that is not a global flag or its value.
fn find_verb(args: &[String]) -> Option<usize> {
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if a == "--" {
            return None;
        }
        if !a.starts_with('-') || a == "-" {
            return Some(i);
        }
        let takes_value = matches!(a.as_str(), "-n" | "-s" | "--namespace" | "--server");
        i += if takes_value { 2 } else { 1 };
    }
    None
}

/// Parses the words after `ordinal ctl`; `env_server` is `ORDINAL_SERVER`.
pub fn parse(args: &[String], env_server: Option<&str>) -> Result<Invocation, UsageError> {
    let Some(vi) = find_verb(args) else {
        // Only flags (or nothing): validate them, then show help.
        let table: Vec<&Flag> = GLOBAL.iter().collect();
        scan(args, &table, None)?;
        return Ok(Invocation {
            server: DEFAULT_SERVER.into(),
            namespace: None,
            all_namespaces: false,
            verb: Verb::Help(String::new()),
        });
    };
    let verb = args[vi].as_str();
    if !VERBS.contains(&verb) {
        return Err(usage(format!("unknown command {verb:?} for \"ordinal ctl\""), None));
    }
    let table: Vec<&Flag> = GLOBAL.iter().chain(verb_flags(verb)).collect();
    let rest: Vec<String> = args[..vi].iter().chain(&args[vi + 1..]).cloned().collect();
    let (flags, pos) = scan(&rest, &table, Some(verb))?;

    let server = flags
        .last("server")
        .map(str::to_string)
        .or_else(|| env_server.filter(|s| !s.is_empty()).map(str::to_string))
        .unwrap_or_else(|| DEFAULT_SERVER.to_string());
    let namespace = flags.last("namespace").map(str::to_string);
    if let Some(ns) = &namespace
        && !resource::is_dns1123_label(ns)
    {
        return Err(usage(
            format!(
                "invalid namespace {ns:?}: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-'"
            ),
            Some(verb),
        ));
    }
    let all_namespaces = flags.bool("all-namespaces", verb)?;
    let inv = |verb| Invocation { server: server.clone(), namespace: namespace.clone(), all_namespaces, verb };
    if flags.bool("help", verb)? || verb == "help" {
        return Ok(inv(Verb::Help(if verb == "help" {
            pos.first().cloned().unwrap_or_default()
        } else {
            verb.to_string()
        })));
    }
    let selector = match flags.last("selector") {
        Some(s) => {
            Selector::parse(s).map_err(|e| usage(e, Some(verb)))?;
            Some(s.to_string())
        }
        None => None,
    };

    let v = match verb {
        "apply" => {
            let files: Vec<PathBuf> = flags.all("filename").into_iter().map(PathBuf::from).collect();
            if files.is_empty() {
                return Err(usage("must specify one of -f and -k", Some(verb)));
            }
            if let Some(p) = pos.first() {
                return Err(usage(format!("Unexpected args: [{p}]"), Some(verb)));
            }
            if namespace.as_deref().is_some_and(|n| n != "default") {
                // POST /apply has no namespace parameter: objects without metadata.namespace go to
                // "default". Refuse rather than silently apply into the wrong namespace.
                return Err(usage(
                    "apply -n is not supported by ordinal yet; set metadata.namespace in the manifest",
                    Some(verb),
                ));
            }
            Verb::Apply { files }
        }
        "get" => {
            let (resources, names) = resources_and_names(&pos, verb, true)?;
            if all_namespaces && !names.is_empty() {
                return Err(usage("a resource cannot be retrieved by name across all namespaces", Some(verb)));
            }
            let output = match flags.last("output") {
                None if flags.last("template").is_some() => {
                    let t = flags.last("template").unwrap();
                    super::gotemplate::check(t).map_err(|e| usage(e, Some(verb)))?;
                    Output::GoTemplate(t.to_string())
                }
                Some("go-template" | "template") => {
                    let Some(t) = flags.last("template") else {
                        return Err(usage("template format specified but no template given", Some(verb)));
                    };
                    super::gotemplate::check(t).map_err(|e| usage(e, Some(verb)))?;
                    Output::GoTemplate(t.to_string())
                }
                Some(o) if o.starts_with("go-template=") || o.starts_with("template=") => {
                    let t = o.split_once('=').unwrap().1;
                    super::gotemplate::check(t).map_err(|e| usage(e, Some(verb)))?;
                    Output::GoTemplate(t.to_string())
                }
                None => Output::Table,
                Some("wide") => Output::Wide,
                Some("yaml") => Output::Yaml,
                Some("json") => Output::Json,
                Some("name") => Output::Name,
                Some(o) if o.starts_with("jsonpath=") || o.starts_with("jsonpath-as-text=") => {
                    let t = o.split_once('=').unwrap().1;
                    super::jsonpath::check(t).map_err(|e| usage(e, Some(verb)))?;
                    Output::JsonPath(t.to_string())
                }
                Some(o) => {
                    return Err(usage(
                        format!(
                            "unable to match a printer suitable for the output format {o:?}, allowed formats are: go-template,json,jsonpath,name,template,wide,yaml"
                        ),
                        Some(verb),
                    ));
                }
            };
            let columns = LabelColumns {
                show_labels: flags.bool("show-labels", verb)?,
                keys: flags
                    .all("label-columns")
                    .iter()
                    .flat_map(|k| k.split(','))
                    .filter(|k| !k.is_empty())
                    .map(str::to_string)
                    .collect(),
            };
            Verb::Get { resources, names, watch: flags.bool("watch", verb)?, output, selector, columns }
        }
        "describe" => {
            let (resources, names) = resources_and_names(&pos, verb, false)?;
            Verb::Describe { resource: resources[0], names, selector }
        }
        "scale" => {
            let (resource, name) = one_object(&pos, verb)?;
            let Some(r) = flags.last("replicas") else {
                return Err(usage("required flag(s) \"replicas\" not set", Some(verb)));
            };
            let replicas: i64 = r.parse().map_err(|_| {
                usage(format!("invalid argument {r:?} for \"--replicas\" flag: strconv.ParseInt: parsing {r:?}: invalid syntax"), Some(verb))
            })?;
            if replicas < 0 {
                return Err(usage(
                    "The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0",
                    Some(verb),
                ));
            }
            if resource.plural != "statefulsets" {
                return Err(usage(
                    format!("cannot scale {}: only statefulsets are scalable here", resource.plural),
                    Some(verb),
                ));
            }
            Verb::Scale { resource, name, replicas }
        }
        "patch" => {
            let (resource, name) = one_object(&pos, verb)?;
            let Some(p) = flags.last("patch") else {
                return Err(usage("must specify -p to patch", Some(verb)));
            };
            let kind = match flags.last("type").unwrap_or("strategic") {
                "merge" | "strategic" => PatchType::Merge,
                "json" => PatchType::Json,
                t => return Err(usage(format!("--type must be one of [json merge strategic], not {t:?}"), Some(verb))),
            };
            let parsed: serde_json::Value =
                serde_yaml_or_json(p).map_err(|e| usage(format!("unable to parse {p:?}: {e}"), Some(verb)))?;
            match (kind, &parsed) {
                (PatchType::Json, serde_json::Value::Array(_)) | (PatchType::Merge, serde_json::Value::Object(_)) => {}
                (PatchType::Json, _) => {
                    return Err(usage("unable to parse patch: a JSON patch must be a list of operations", Some(verb)));
                }
                (PatchType::Merge, _) => {
                    return Err(usage("unable to parse patch: a merge patch must be a JSON object", Some(verb)));
                }
            }
            if resource.plural != "statefulsets" {
                return Err(usage(
                    format!("patching {} is not supported by ordinal; only statefulsets", resource.plural),
                    Some(verb),
                ));
            }
            Verb::Patch { resource, name, patch: parsed.to_string(), kind }
        }
        "set" => {
            match pos.first().map(String::as_str) {
                Some("image") => {}
                Some(other) => {
                    return Err(usage(format!("unknown command {other:?} for \"ordinal ctl set\""), Some(verb)));
                }
                None => return Err(usage("set requires a subcommand: image", Some(verb))),
            }
            let args = &pos[1..];
            // `set image statefulset/web c=i` or `set image statefulset web c=i`.
            let (obj_words, images): (Vec<&String>, Vec<&String>) = args.iter().partition(|a| !a.contains('='));
            let obj: Vec<String> = obj_words.into_iter().cloned().collect();
            let (resource, name) = one_object(&obj, "set image")?;
            if images.is_empty() {
                return Err(usage("at least one image update is required", Some("set image")));
            }
            let mut pairs = Vec::new();
            for kv in images {
                let (c, i) = kv.split_once('=').unwrap();
                if c.is_empty() || i.is_empty() {
                    return Err(usage(
                        format!("invalid image update {kv:?}: expected CONTAINER=IMAGE"),
                        Some("set image"),
                    ));
                }
                pairs.push((c.to_string(), i.to_string()));
            }
            if resource.plural != "statefulsets" {
                return Err(usage(
                    format!("set image on {} is not supported by ordinal; only statefulsets", resource.plural),
                    Some("set image"),
                ));
            }
            Verb::SetImage { resource, name, images: pairs }
        }
        "delete" => {
            let files: Vec<PathBuf> = flags.all("filename").into_iter().map(PathBuf::from).collect();
            let (resource, names) = if files.is_empty() {
                let (resources, names) = resources_and_names(&pos, verb, false)?;
                if names.is_empty() && selector.is_none() {
                    return Err(usage("resource(s) were provided, but no name was specified", Some(verb)));
                }
                (Some(resources[0]), names)
            } else {
                if let Some(p) = pos.first() {
                    return Err(usage(format!("Unexpected args: [{p}]"), Some(verb)));
                }
                (None, Vec::new())
            };
            let cascade = match flags.last("cascade").unwrap_or("background") {
                "background" | "true" => Cascade::Background,
                "orphan" | "false" => Cascade::Orphan,
                "foreground" => Cascade::Foreground,
                c => {
                    return Err(usage(
                        format!("invalid cascade value ({c}). Must be \"background\", \"foreground\", or \"orphan\""),
                        Some(verb),
                    ));
                }
            };
            let force = flags.bool("force", verb)?;
            let mut grace_period = match flags.last("grace-period") {
                None => None,
                Some(g) => Some(g.parse::<i64>().map_err(|_| {
                    usage(format!("invalid argument {g:?} for \"--grace-period\" flag: strconv.ParseInt: parsing {g:?}: invalid syntax"), Some(verb))
                })?),
            };
            if flags.bool("now", verb)? {
                if grace_period.is_some_and(|g| g >= 0) {
                    return Err(usage("--now and --grace-period cannot be specified together", Some(verb)));
                }
                grace_period = Some(1);
            }
            if grace_period.is_some_and(|g| g < 0) {
                grace_period = None;
            }
            if force && grace_period.is_none() {
                grace_period = Some(0);
            }
            if force && grace_period.is_some_and(|g| g > 0) {
                // kubectl: --force only has meaning with a zero grace period.
            } else if !force && grace_period == Some(0) {
                // kubectl converts --grace-period=0 without --force into 1 (no accidental force delete).
                grace_period = Some(1);
            }
            let wait = match flags.last("wait") {
                None => true,
                Some(_) => flags.bool("wait", verb)?,
            };
            Verb::Delete { resource, names, files, cascade, grace_period, force, selector, wait }
        }
        "rollout" => {
            match pos.first().map(String::as_str) {
                Some("status") => {}
                Some(other) => {
                    return Err(usage(
                        format!("unknown command {other:?} for \"ordinal ctl rollout\" (only \"status\" is supported)"),
                        Some(verb),
                    ));
                }
                None => return Err(usage("rollout requires a subcommand: status", Some(verb))),
            }
            let (resource, name) = one_object(&pos[1..], "rollout status")?;
            if resource.plural != "statefulsets" {
                return Err(usage(
                    format!("no status viewer has been implemented for {}", resource.kind),
                    Some("rollout status"),
                ));
            }
            let timeout = match flags.last("timeout") {
                None => None,
                Some(t) => {
                    let d = parse_go_duration(t).map_err(|e| {
                        usage(format!("invalid argument {t:?} for \"--timeout\" flag: {e}"), Some("rollout status"))
                    })?;
                    if d.is_zero() { None } else { Some(d) }
                }
            };
            Verb::RolloutStatus { resource, name, timeout }
        }
        "wait" => {
            let (resources, names) = resources_and_names(&pos, verb, false)?;
            if names.is_empty() && selector.is_none() {
                return Err(usage("resource(s) were provided, but no name was specified", Some(verb)));
            }
            let Some(f) = flags.last("for") else {
                return Err(usage(
                    "--for must be specified, e.g. --for=condition=Ready, --for=delete or --for=jsonpath='{.status.readyReplicas}'=3",
                    Some(verb),
                ));
            };
            let cond = if f.eq_ignore_ascii_case("delete") {
                WaitFor::Delete
            } else if let Some(c) = f.strip_prefix("condition=") {
                match c.split_once('=') {
                    Some((k, v)) => WaitFor::Condition(k.to_string(), v.to_string()),
                    None => WaitFor::Condition(c.to_string(), "True".to_string()),
                }
            } else if let Some(j) = f.strip_prefix("jsonpath=") {
                // `{.a.b}=value`: the template ends at the last '}'.
                let end = j.rfind('}').map(|i| i + 1).unwrap_or(j.len());
                let (path, value) = (&j[..end], j[end..].strip_prefix('='));
                super::jsonpath::check(path).map_err(|e| usage(e, Some(verb)))?;
                WaitFor::JsonPath(path.to_string(), value.map(str::to_string))
            } else {
                return Err(usage(format!("unrecognized condition: {f:?}"), Some(verb)));
            };
            let timeout = match flags.last("timeout") {
                None => Duration::from_secs(30),
                Some(t) => parse_go_duration(t)
                    .map_err(|e| usage(format!("invalid argument {t:?} for \"--timeout\" flag: {e}"), Some(verb)))?,
            };
            Verb::Wait { resource: resources[0], names, selector, cond, timeout }
        }
        "inject" => {
            let want = |n: usize| -> Result<(), UsageError> {
                if pos.len() != n {
                    return Err(usage(
                        format!(
                            "{} expects {} argument(s); usage: inject fail-pod POD | set-ready POD true|false | lose-node NODE | restore-node NODE",
                            pos.first().map(String::as_str).unwrap_or("inject"),
                            n - 1
                        ),
                        Some(verb),
                    ));
                }
                Ok(())
            };
            match pos.first().map(String::as_str) {
                Some("fail-pod") => {
                    want(2)?;
                    Verb::Inject(Inject::FailPod(pos[1].clone()))
                }
                Some("set-ready") => {
                    want(3)?;
                    let ready = parse_bool(&pos[2])
                        .ok_or_else(|| usage(format!("set-ready: {:?} is not true or false", pos[2]), Some(verb)))?;
                    Verb::Inject(Inject::SetReady(pos[1].clone(), ready))
                }
                Some("lose-node") => {
                    want(2)?;
                    Verb::Inject(Inject::LoseNode(pos[1].clone()))
                }
                Some("restore-node") => {
                    want(2)?;
                    Verb::Inject(Inject::RestoreNode(pos[1].clone()))
                }
                Some(other) => {
                    return Err(usage(
                        format!("unknown injection {other:?}: expected fail-pod, set-ready, lose-node or restore-node"),
                        Some(verb),
                    ));
                }
                None => {
                    return Err(usage(
                        "inject requires an action: fail-pod, set-ready, lose-node or restore-node",
                        Some(verb),
                    ));
                }
            }
        }
        _ => unreachable!("verb list checked above"),
    };
    Ok(inv(v))
}

fn serde_yaml_or_json(s: &str) -> Result<serde_json::Value, String> {
    serde_json::from_str(s).or_else(|_| serde_saphyr::from_str::<serde_json::Value>(s).map_err(|e| e.to_string()))
}

/// `TYPE[,TYPE] [NAME...]` or `TYPE/NAME...`.
fn resources_and_names(
    pos: &[String],
    verb: &str,
    allow_many: bool,
) -> Result<(Vec<&'static Resource>, Vec<String>), UsageError> {
    let Some(first) = pos.first() else {
        return Err(usage(
            format!(
                "You must specify the type of resource to {verb}. Valid resource types: statefulsets, pods, persistentvolumeclaims, services, endpointslices, controllerrevisions, events, namespaces"
            ),
            Some(verb),
        ));
    };
    if first.contains('/') {
        let mut res = Vec::new();
        let mut names = Vec::new();
        for p in pos {
            let Some((t, n)) = p.split_once('/') else {
                return Err(usage(
                    format!(
                        "there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (e.g. 'ordinal ctl {verb} resource/<resource_name>' instead of 'ordinal ctl {verb} resource resource/<resource_name>'"
                    ),
                    Some(verb),
                ));
            };
            let r = resource::lookup(t).ok_or_else(|| unknown_type(t))?;
            if !res.is_empty() && res[0] != r {
                return Err(usage(
                    "mixing resource types in TYPE/NAME form is not supported by ordinal ctl",
                    Some(verb),
                ));
            }
            if n.is_empty() {
                return Err(usage(
                    format!("arguments in resource/name form must have a single resource and name: {p:?}"),
                    Some(verb),
                ));
            }
            res = vec![r];
            names.push(n.to_string());
        }
        return Ok((res, names));
    }
    let mut res = Vec::new();
    for t in first.split(',') {
        // kubectl's `all` category, as far as ordinal has those kinds.
        let expanded: Vec<&'static Resource> = if t == "all" {
            ["pods", "services", "statefulsets"].iter().filter_map(|r| resource::lookup(r)).collect()
        } else {
            vec![resource::lookup(t).ok_or_else(|| unknown_type(t))?]
        };
        for r in expanded {
            if !res.contains(&r) {
                res.push(r);
            }
        }
    }
    if res.len() > 1 && (!allow_many || pos.len() > 1) {
        return Err(usage(format!("{verb} takes one resource type here (got {first:?})"), Some(verb)));
    }
    Ok((res, pos[1..].to_vec()))
}

fn unknown_type(t: &str) -> UsageError {
    usage(format!("the server doesn't have a resource type {t:?}"), None)
}

fn one_object(pos: &[String], verb: &str) -> Result<(&'static Resource, String), UsageError> {
    let (res, names) = resources_and_names(pos, verb, false)?;
    match names.as_slice() {
        [n] => Ok((res[0], n.clone())),
        [] => Err(usage(format!("{verb} requires a resource name, e.g. statefulset/web"), Some(verb))),
        _ => Err(usage(format!("{verb} takes exactly one object, got {}", names.len()), Some(verb))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Invocation, UsageError> {
        let v: Vec<String> = s.split_whitespace().map(String::from).collect();
        parse(&v, None)
    }

    #[test]
    fn flags_anywhere_and_all_forms() {
        let a = p("-n p1-dev get pods -o wide -l app=nginx").unwrap();
        assert_eq!(a.namespace.as_deref(), Some("p1-dev"));
        let Verb::Get { resources, output, selector, watch, names, .. } = a.verb else { panic!() };
        assert_eq!(
            (resources[0].plural, output, selector.as_deref(), watch, names.len()),
            ("pods", Output::Wide, Some("app=nginx"), false, 0)
        );
        let a = p("get sts/web -oyaml --server=http://127.0.0.1:9").unwrap();
        assert_eq!(a.server, "http://127.0.0.1:9");
        let Verb::Get { resources, names, output, .. } = a.verb else { panic!() };
        assert_eq!((resources[0].plural, names, output), ("statefulsets", vec!["web".to_string()], Output::Yaml));
        let a = p("get po -wA").unwrap();
        assert!(a.all_namespaces);
        assert!(matches!(a.verb, Verb::Get { watch: true, .. }));
    }

    #[test]
    fn server_from_env_unless_flag() {
        let v: Vec<String> = vec!["get".into(), "pods".into()];
        assert_eq!(parse(&v, Some("http://10.0.0.1:1")).unwrap().server, "http://10.0.0.1:1");
        assert_eq!(parse(&v, None).unwrap().server, DEFAULT_SERVER);
        let v: Vec<String> = vec!["get".into(), "pods".into(), "-s".into(), "http://x:2".into()];
        assert_eq!(parse(&v, Some("http://10.0.0.1:1")).unwrap().server, "http://x:2");
    }

    #[test]
    fn errors_read_like_kubectl() {
        let msg = |s: &str| p(s).unwrap_err().message;
        assert_eq!(msg("get pods --bogus"), "unknown flag: --bogus");
        assert_eq!(msg("get pods -z"), "unknown shorthand flag: 'z' in -z");
        assert_eq!(msg("get foo"), "the server doesn't have a resource type \"foo\"");
        assert_eq!(msg("frobnicate pods"), "unknown command \"frobnicate\" for \"ordinal ctl\"");
        assert_eq!(msg("scale sts web"), "required flag(s) \"replicas\" not set");
        assert!(msg("scale sts web --replicas x").starts_with("invalid argument \"x\" for \"--replicas\" flag"));
        assert_eq!(msg("get pods -n"), "flag needs an argument: 'n' in -n");
        assert!(msg("get pods -o toml").contains("output format \"toml\""));
        assert!(msg("get pods -l a=(b").contains("unable to parse requirement"), "{}", msg("get pods -l a=(b"));
        assert!(msg("delete pod").contains("no name was specified"));
        assert!(msg("delete pod web-0 --cascade=sideways").contains("invalid cascade value"));
        assert!(msg("patch sts web -p {nope").contains("unable to parse"));
        assert!(msg("rollout status sts web --timeout 5x").contains("--timeout"));
        assert!(msg("inject explode web-0").contains("unknown injection"));
        assert_eq!(p("scale sts web --bogus").unwrap_err().verb.as_deref(), Some("scale"));
    }

    #[test]
    fn delete_force_and_grace_follow_kubectl() {
        let Verb::Delete { grace_period, force, cascade, .. } =
            p("delete pod web-0 --force --grace-period=0").unwrap().verb
        else {
            panic!()
        };
        assert_eq!((grace_period, force, cascade), (Some(0), true, Cascade::Background));
        let Verb::Delete { grace_period, .. } = p("delete pod web-0 --grace-period=0").unwrap().verb else { panic!() };
        assert_eq!(grace_period, Some(1));
        let Verb::Delete { cascade, .. } = p("delete sts web --cascade=orphan").unwrap().verb else { panic!() };
        assert_eq!(cascade, Cascade::Orphan);
    }

    #[test]
    fn set_image_and_rollout_and_inject() {
        let Verb::SetImage { name, images, .. } =
            p("set image statefulset/web nginx=nginx-slim:0.8 side=b").unwrap().verb
        else {
            panic!()
        };
        assert_eq!(name, "web");
        assert_eq!(images, vec![("nginx".into(), "nginx-slim:0.8".into()), ("side".into(), "b".into())]);
        let Verb::RolloutStatus { timeout, .. } = p("rollout status sts/web --timeout 1m30s").unwrap().verb else {
            panic!()
        };
        assert_eq!(timeout, Some(Duration::from_secs(90)));
        assert_eq!(
            p("inject set-ready web-1 false").unwrap().verb,
            Verb::Inject(Inject::SetReady("web-1".into(), false))
        );
    }

    #[test]
    fn delete_by_file_and_get_all() {
        let Verb::Delete { resource, files, names, .. } = p("delete -f web.yaml --wait=false").unwrap().verb else {
            panic!()
        };
        assert_eq!((resource, files, names.len()), (None, vec![PathBuf::from("web.yaml")], 0));
        assert!(p("delete -f web.yaml pod").unwrap_err().message.starts_with("Unexpected args"));
        let Verb::Get { resources, .. } = p("get all").unwrap().verb else { panic!() };
        assert_eq!(resources.iter().map(|r| r.plural).collect::<Vec<_>>(), ["pods", "services", "statefulsets"]);
        assert!(p("get pod web-0 -A").unwrap_err().message.contains("across all namespaces"));
        let Verb::Get { output, .. } = p("get pods -o jsonpath={.items[*].metadata.name}").unwrap().verb else {
            panic!()
        };
        assert_eq!(output, Output::JsonPath("{.items[*].metadata.name}".into()));
        assert!(p("get pods -o jsonpath={range").unwrap_err().message.contains("jsonpath"));
    }

    #[test]
    fn wait_conditions() {
        let Verb::Wait { cond, timeout, names, .. } =
            p("wait --for=condition=Ready pod/web-0 --timeout=60s").unwrap().verb
        else {
            panic!()
        };
        assert_eq!(
            (cond, timeout, names),
            (WaitFor::Condition("Ready".into(), "True".into()), Duration::from_secs(60), vec!["web-0".to_string()])
        );
        let Verb::Wait { cond, .. } = p("wait --for=jsonpath={.status.readyReplicas}=3 sts/web").unwrap().verb else {
            panic!()
        };
        assert_eq!(cond, WaitFor::JsonPath("{.status.readyReplicas}".into(), Some("3".into())));
        let Verb::Wait { cond, selector, .. } = p("wait --for=delete pod -l app=nginx").unwrap().verb else { panic!() };
        assert_eq!((cond, selector.as_deref()), (WaitFor::Delete, Some("app=nginx")));
        assert!(p("wait pod/web-0").unwrap_err().message.contains("--for"));
        assert!(p("wait --for=sunshine pod/web-0").unwrap_err().message.contains("unrecognized condition"));
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_go_duration("1h2m3s").unwrap(), Duration::from_secs(3723));
        assert!(parse_go_duration("5").is_err());
        assert!(parse_go_duration("5x").is_err());
    }
}
