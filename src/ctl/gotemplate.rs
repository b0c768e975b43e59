//! `--template` / `-o go-template=`: the subset of Go's text/template that kubectl
//! one-liners use — `{{.a.b}}`, `{{range .list}}...{{end}}`,
//! `{{range $i, $c := .spec.containers}}{{$c.image}}{{end}}`, `{{if ...}}...{{else}}...{{end}}`,
//! `{{index .metadata.labels "app"}}`, `{{"\n"}}`, `{{-`/`-}}` trimming. A missing map key
//! prints `<no value>`, as Go does for `map[string]interface{}`.

use std::collections::HashMap;

use serde_json::Value;

#[derive(Debug, Clone)]
enum Arg {
    /// `.a.b` (from dot) or `$v.a.b` (from a variable; `$` alone is the root).
    Field(Option<String>, Vec<String>),
    Lit(String),
}

#[derive(Debug, Clone)]
enum Pipe {
    Arg(Arg),
    Index(Arg, Vec<Arg>),
}

#[derive(Debug, Clone)]
enum Node {
    Text(String),
    Print(Pipe),
    Range { key: Option<String>, val: Option<String>, pipe: Pipe, body: Vec<Node>, else_: Vec<Node> },
    If { pipe: Pipe, body: Vec<Node>, else_: Vec<Node> },
}

fn parse_arg(s: &str) -> Result<Arg, String> {
    let s = s.trim();
    if s.starts_with('"') {
        return serde_json::from_str::<String>(s).map(Arg::Lit).map_err(|_| format!("bad string {s}"));
    }
    if let Some(rest) = s.strip_prefix('$') {
        let (var, path) = match rest.find('.') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let fields = path.split('.').filter(|f| !f.is_empty()).map(str::to_string).collect();
        return Ok(Arg::Field(Some(var.to_string()), fields));
    }
    if s.starts_with('.') {
        return Ok(Arg::Field(None, s.split('.').filter(|f| !f.is_empty()).map(str::to_string).collect()));
    }
    Err(format!("function {s:?} not defined"))
}

fn split_args(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote = false;
    let mut esc = false;
    for c in s.chars() {
        if quote {
            cur.push(c);
            if esc {
                esc = false;
            } else if c == '\\' {
                esc = true;
            } else if c == '"' {
                quote = false;
            }
        } else if c == '"' {
            quote = true;
            cur.push(c);
        } else if c.is_whitespace() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
        } else {
            cur.push(c);
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn parse_pipe(s: &str) -> Result<Pipe, String> {
    let words = split_args(s);
    match words.first().map(String::as_str) {
        Some("index") if words.len() >= 2 => {
            let keys = words[2..].iter().map(|w| parse_arg(w)).collect::<Result<_, _>>()?;
            Ok(Pipe::Index(parse_arg(&words[1])?, keys))
        }
        Some(_) if words.len() == 1 => Ok(Pipe::Arg(parse_arg(&words[0])?)),
        Some(w) => Err(format!("function {w:?} not defined")),
        None => Err("missing value for command".into()),
    }
}

fn parse(t: &str) -> Result<Vec<Node>, String> {
    // Frames: (kind, nodes, else-nodes, in_else).
    struct Frame {
        head: Option<Node>,
        body: Vec<Node>,
        else_: Vec<Node>,
        in_else: bool,
    }
    let mut stack = vec![Frame { head: None, body: Vec::new(), else_: Vec::new(), in_else: false }];
    let push = |stack: &mut Vec<Frame>, n: Node| {
        let f = stack.last_mut().unwrap();
        if f.in_else { f.else_.push(n) } else { f.body.push(n) }
    };
    let mut rest = t;
    let mut trim_next = false;
    while !rest.is_empty() {
        let open = rest.find("{{");
        let mut text = &rest[..open.unwrap_or(rest.len())];
        if trim_next {
            text = text.trim_start();
        }
        let Some(open) = open else {
            push(&mut stack, Node::Text(text.to_string()));
            break;
        };
        let mut action = &rest[open + 2..];
        if let Some(a) = action.strip_prefix('-') {
            text = text.trim_end();
            action = a;
        }
        if !text.is_empty() {
            push(&mut stack, Node::Text(text.to_string()));
        }
        let close = action.find("}}").ok_or("unclosed action")?;
        let mut inner = &action[..close];
        rest = &action[close + 2..];
        trim_next = false;
        if let Some(i) = inner.strip_suffix('-') {
            inner = i;
            trim_next = true;
        }
        let inner = inner.trim();
        if let Some(r) = inner.strip_prefix("range ") {
            let (key, val, pipe) = match r.split_once(":=") {
                Some((vars, p)) => {
                    let vars: Vec<String> =
                        vars.split(',').map(|v| v.trim().trim_start_matches('$').to_string()).collect();
                    match vars.as_slice() {
                        [v] => (None, Some(v.clone()), p),
                        [k, v] => (Some(k.clone()), Some(v.clone()), p),
                        _ => return Err(format!("too many declarations in range: {r}")),
                    }
                }
                None => (None, None, r),
            };
            let head = Node::Range { key, val, pipe: parse_pipe(pipe)?, body: vec![], else_: vec![] };
            stack.push(Frame { head: Some(head), body: Vec::new(), else_: Vec::new(), in_else: false });
        } else if let Some(p) = inner.strip_prefix("if ") {
            let head = Node::If { pipe: parse_pipe(p)?, body: vec![], else_: vec![] };
            stack.push(Frame { head: Some(head), body: Vec::new(), else_: Vec::new(), in_else: false });
        } else if inner == "else" {
            let f = stack.last_mut().unwrap();
            if f.head.is_none() || f.in_else {
                return Err("unexpected {{else}}".into());
            }
            f.in_else = true;
        } else if inner == "end" {
            if stack.len() < 2 {
                return Err("unexpected {{end}}".into());
            }
            let f = stack.pop().unwrap();
            let node = match f.head.unwrap() {
                Node::Range { key, val, pipe, .. } => Node::Range { key, val, pipe, body: f.body, else_: f.else_ },
                Node::If { pipe, .. } => Node::If { pipe, body: f.body, else_: f.else_ },
                _ => unreachable!("only range and if open frames"),
            };
            push(&mut stack, node);
        } else if inner.starts_with("/*") {
            // comment
        } else {
            push(&mut stack, Node::Print(parse_pipe(inner)?));
        }
    }
    if stack.len() != 1 {
        return Err("unexpected EOF: missing {{end}}".into());
    }
    Ok(stack.pop().unwrap().body)
}

/// A value, or Go's "no value" for a missing key.
type V = Option<Value>;

struct Ctx<'a> {
    root: &'a Value,
    vars: HashMap<String, Value>,
}

fn eval_arg(a: &Arg, dot: &V, ctx: &Ctx) -> V {
    match a {
        Arg::Lit(s) => Some(Value::String(s.clone())),
        Arg::Field(var, fields) => {
            let mut cur: V = match var {
                None => dot.clone(),
                Some(v) if v.is_empty() => Some(ctx.root.clone()),
                Some(v) => ctx.vars.get(v).cloned(),
            };
            for f in fields {
                cur = cur.and_then(|c| c.get(f).cloned());
            }
            cur
        }
    }
}

fn eval_pipe(p: &Pipe, dot: &V, ctx: &Ctx) -> V {
    match p {
        Pipe::Arg(a) => eval_arg(a, dot, ctx),
        Pipe::Index(a, keys) => {
            let mut cur = eval_arg(a, dot, ctx);
            for k in keys {
                let key = eval_arg(k, dot, ctx);
                cur = match (cur, key) {
                    (Some(Value::Object(m)), Some(Value::String(k))) => m.get(&k).cloned(),
                    (Some(Value::Array(a)), Some(Value::Number(n))) => {
                        n.as_u64().and_then(|i| a.get(i as usize).cloned())
                    }
                    _ => None,
                };
            }
            cur
        }
    }
}

fn truthy(v: &V) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(m)) => !m.is_empty(),
        Some(Value::Number(n)) => n.as_f64() != Some(0.0),
    }
}

fn print_value(v: &V, out: &mut String) {
    match v {
        None => out.push_str("<no value>"),
        Some(Value::String(s)) => out.push_str(s),
        Some(Value::Null) => out.push_str("<nil>"),
        Some(other) => out.push_str(&other.to_string()),
    }
}

fn render(nodes: &[Node], dot: &V, ctx: &mut Ctx, out: &mut String) {
    for n in nodes {
        match n {
            Node::Text(t) => out.push_str(t),
            Node::Print(p) => print_value(&eval_pipe(p, dot, ctx), out),
            Node::If { pipe, body, else_ } => {
                let v = eval_pipe(pipe, dot, ctx);
                render(if truthy(&v) { body } else { else_ }, dot, ctx, out);
            }
            Node::Range { key, val, pipe, body, else_ } => {
                let items: Vec<(Value, Value)> = match eval_pipe(pipe, dot, ctx) {
                    Some(Value::Array(a)) => a.into_iter().enumerate().map(|(i, v)| (Value::from(i), v)).collect(),
                    Some(Value::Object(m)) => m.into_iter().map(|(k, v)| (Value::String(k), v)).collect(),
                    _ => Vec::new(),
                };
                if items.is_empty() {
                    render(else_, dot, ctx, out);
                }
                for (k, v) in items {
                    if let Some(kn) = key {
                        ctx.vars.insert(kn.clone(), k);
                    }
                    if let Some(vn) = val {
                        ctx.vars.insert(vn.clone(), v.clone());
                    }
                    render(body, &Some(v), ctx, out);
                }
            }
        }
    }
}

/// Checks a template without data.
pub fn check(t: &str) -> Result<(), String> {
    parse(t).map(|_| ()).map_err(|e| format!("error parsing template {t}, template: output:1: {e}"))
}

/// Executes a template against `v`.
pub fn execute(t: &str, v: &Value) -> Result<String, String> {
    let nodes = parse(t).map_err(|e| format!("error parsing template {t}, {e}"))?;
    let mut ctx = Ctx { root: v, vars: HashMap::new() };
    let mut out = String::new();
    render(&nodes, &Some(v.clone()), &mut ctx, &mut out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kubectl_one_liners() {
        let pod = json!({"metadata": {"name": "web-2", "labels": {"app.kubernetes.io/name": "nginx"}},
            "spec": {"containers": [{"name": "nginx", "image": "nginx-slim:0.8"}, {"name": "side", "image": "busybox"}]},
            "status": {"podIP": "10.244.0.3", "phase": "Running"}});
        assert_eq!(
            execute("{{range $i, $c := .spec.containers}}{{$c.image}}{{end}}", &pod).unwrap(),
            "nginx-slim:0.8busybox"
        );
        assert_eq!(execute("{{.status.podIP}}", &pod).unwrap(), "10.244.0.3");
        assert_eq!(execute("{{range .spec.containers}}{{.name}}{{\"\\n\"}}{{end}}", &pod).unwrap(), "nginx\nside\n");
        assert_eq!(execute("{{index .metadata.labels \"app.kubernetes.io/name\"}}", &pod).unwrap(), "nginx");
        assert!(execute("{{if eq}}", &pod).is_err());
        assert_eq!(
            execute("{{if .status.podIP}}yes{{else}}no{{end}} {{if .status.nope}}yes{{else}}no{{end}}", &pod).unwrap(),
            "yes no"
        );
        assert_eq!(execute("{{.status.missing}}", &pod).unwrap(), "<no value>");
        assert_eq!(execute("a {{- .metadata.name -}} b", &pod).unwrap(), "aweb-2b");
        assert_eq!(execute("{{$.metadata.name}}", &pod).unwrap(), "web-2");
        assert!(check("{{range .x}}").is_err());
        assert!(check("{{end}}").is_err());
    }
}
