//! `-o jsonpath=TEMPLATE`: the subset of kubectl's JSONPath that scripts use —
//! `{.a.b}`, `[N]`, `[*]`, `[?(@.k=="v")]`, `{range ...}...{end}`, `{"\n"}` literals,
//! escaped dots in keys (`{.metadata.labels.app\.kubernetes\.io/name}`). Missing
//! keys print nothing (kubectl get allows missing keys). Several results of one
//! expression are joined by spaces.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
enum Seg {
    Key(String),
    Index(i64),
    All,
    /// `[?(@.path == "lit")]` (or `!=`).
    Filter(Vec<Seg>, bool, Value),
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Text(String),
    Path(Vec<Seg>),
    Range(Vec<Seg>, Vec<Node>),
}

fn parse_path(p: &str) -> Result<Vec<Seg>, String> {
    let p = p.trim();
    let mut rest = p.strip_prefix('$').or_else(|| p.strip_prefix('@')).unwrap_or(p);
    let mut segs = Vec::new();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let mut key = String::new();
            let mut chars = r.char_indices().peekable();
            let mut end = r.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, n)) = chars.next() {
                            key.push(n);
                        }
                    }
                    '.' | '[' => {
                        end = i;
                        break;
                    }
                    c => key.push(c),
                }
            }
            if !key.is_empty() {
                segs.push(Seg::Key(key));
            }
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let close = find_close(r).ok_or_else(|| format!("unclosed [ in {p:?}"))?;
            let inner = r[..close].trim();
            rest = &r[close + 1..];
            if inner == "*" {
                segs.push(Seg::All);
            } else if let Ok(n) = inner.parse::<i64>() {
                segs.push(Seg::Index(n));
            } else if let Some(f) = inner.strip_prefix("?(").and_then(|f| f.strip_suffix(')')) {
                let (lhs, neg, rhs) = if let Some((l, r)) = f.split_once("!=") {
                    (l, true, r)
                } else if let Some((l, r)) = f.split_once("==") {
                    (l, false, r)
                } else {
                    return Err(format!("unsupported filter {f:?} (only == and !=)"));
                };
                let rhs = rhs.trim();
                let lit = if let Some(s) = rhs
                    .strip_prefix('"')
                    .and_then(|s| s.strip_suffix('"'))
                    .or_else(|| rhs.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')))
                {
                    Value::String(s.to_string())
                } else {
                    serde_json::from_str(rhs).map_err(|_| format!("bad literal {rhs:?} in filter"))?
                };
                segs.push(Seg::Filter(parse_path(lhs)?, neg, lit));
            } else if let Some(k) = inner.strip_prefix('\'').and_then(|k| k.strip_suffix('\'')) {
                segs.push(Seg::Key(k.to_string()));
            } else {
                return Err(format!("unsupported subscript [{inner}]"));
            }
        } else {
            return Err(format!("unrecognized character in {p:?} at {rest:?}"));
        }
    }
    Ok(segs)
}

fn find_close(s: &str) -> Option<usize> {
    let mut depth = 0;
    let mut quote: Option<char> = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '[') => depth += 1,
            (None, ']') if depth == 0 => return Some(i),
            (None, ']') => depth -= 1,
            _ => {}
        }
    }
    None
}

fn parse_template(t: &str) -> Result<Vec<Node>, String> {
    let mut stack: Vec<(Option<Vec<Seg>>, Vec<Node>)> = vec![(None, Vec::new())];
    let mut rest = t;
    while !rest.is_empty() {
        let Some(open) = rest.find('{') else {
            stack.last_mut().unwrap().1.push(Node::Text(rest.to_string()));
            break;
        };
        if open > 0 {
            stack.last_mut().unwrap().1.push(Node::Text(rest[..open].to_string()));
        }
        let after = &rest[open + 1..];
        // A '}' inside a quoted literal does not close the action.
        let mut close = None;
        let mut quote = false;
        for (i, c) in after.char_indices() {
            match c {
                '"' => quote = !quote,
                '}' if !quote => {
                    close = Some(i);
                    break;
                }
                _ => {}
            }
        }
        let close = close.ok_or_else(|| format!("unclosed action in template {t:?}"))?;
        let action = after[..close].trim();
        rest = &after[close + 1..];
        if let Some(p) = action.strip_prefix("range ") {
            stack.push((Some(parse_path(p)?), Vec::new()));
        } else if action == "end" {
            if stack.len() < 2 {
                return Err("not in range, nothing to end".into());
            }
            let (path, body) = stack.pop().unwrap();
            stack.last_mut().unwrap().1.push(Node::Range(path.unwrap(), body));
        } else if let Some(lit) = action.strip_prefix('"').and_then(|a| a.strip_suffix('"')) {
            let text = lit.replace("\\n", "\n").replace("\\t", "\t").replace("\\\"", "\"");
            stack.last_mut().unwrap().1.push(Node::Text(text));
        } else {
            stack.last_mut().unwrap().1.push(Node::Path(parse_path(action)?));
        }
    }
    if stack.len() != 1 {
        return Err("unclosed range: missing {end}".into());
    }
    Ok(stack.pop().unwrap().1)
}

fn eval<'a>(segs: &[Seg], root: &'a Value) -> Vec<&'a Value> {
    let mut cur = vec![root];
    for seg in segs {
        let mut next = Vec::new();
        for v in cur {
            match seg {
                Seg::Key(k) => {
                    if let Some(x) = v.get(k.as_str()) {
                        next.push(x);
                    }
                }
                Seg::Index(n) => {
                    if let Some(a) = v.as_array() {
                        let i = if *n < 0 { a.len() as i64 + n } else { *n };
                        if let Some(x) = usize::try_from(i).ok().and_then(|i| a.get(i)) {
                            next.push(x);
                        }
                    }
                }
                Seg::All => match v {
                    Value::Array(a) => next.extend(a.iter()),
                    Value::Object(m) => next.extend(m.values()),
                    _ => {}
                },
                Seg::Filter(path, neg, lit) => {
                    if let Some(a) = v.as_array() {
                        for item in a {
                            let hit = eval(path, item).first().is_some_and(|x| *x == lit);
                            if hit != *neg {
                                next.push(item);
                            }
                        }
                    }
                }
            }
        }
        cur = next;
    }
    cur
}

fn render(nodes: &[Node], ctx: &Value, out: &mut String) {
    for n in nodes {
        match n {
            Node::Text(t) => out.push_str(t),
            Node::Path(p) => {
                let vals: Vec<String> = eval(p, ctx)
                    .into_iter()
                    .map(|v| match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .collect();
                out.push_str(&vals.join(" "));
            }
            Node::Range(p, body) => {
                for item in eval(p, ctx) {
                    render(body, item, out);
                }
            }
        }
    }
}

/// Applies a kubectl JSONPath template to `v`.
pub fn execute(template: &str, v: &Value) -> Result<String, String> {
    let nodes = parse_template(template).map_err(|e| format!("error parsing jsonpath {template}, {e}"))?;
    let mut out = String::new();
    render(&nodes, v, &mut out);
    Ok(out)
}

/// Checks a template without data (so a bad one fails before anything is sent).
pub fn check(template: &str) -> Result<(), String> {
    parse_template(template).map(|_| ()).map_err(|e| format!("error parsing jsonpath {template}, {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kubectl_subset() {
        let list = json!({"kind": "List", "items": [
            {"metadata": {"name": "web-0", "labels": {"app.kubernetes.io/name": "nginx"}}, "status": {"podIP": "10.244.0.1",
              "conditions": [{"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": "False"}]}},
            {"metadata": {"name": "web-1"}, "status": {"podIP": "10.244.0.2", "conditions": [{"type": "Ready", "status": "True"}]}}]});
        assert_eq!(execute("{.items[*].metadata.name}", &list).unwrap(), "web-0 web-1");
        assert_eq!(
            execute("{range .items[*]}{.metadata.name}{\"\\t\"}{.status.podIP}{\"\\n\"}{end}", &list).unwrap(),
            "web-0\t10.244.0.1\nweb-1\t10.244.0.2\n"
        );
        assert_eq!(execute("{.items[0].status.conditions[?(@.type==\"Ready\")].status}", &list).unwrap(), "False");
        assert_eq!(execute("{.items[-1].metadata.name}", &list).unwrap(), "web-1");
        assert_eq!(execute("ip={.items[1].status.podIP}", &list).unwrap(), "ip=10.244.0.2");
        assert_eq!(execute("{.items[0].metadata.labels.app\\.kubernetes\\.io/name}", &list).unwrap(), "nginx");
        assert_eq!(execute("{.items[0].missing.field}", &list).unwrap(), "");
        assert_eq!(execute("{.items[1].status.conditions[0]}", &list).unwrap(), r#"{"status":"True","type":"Ready"}"#);
        assert!(check("{range .items[*]}{.x}").is_err());
        assert!(check("{.items[}").is_err());
    }
}
