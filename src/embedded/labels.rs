//! Label selectors as `kubectl -l` / `?labelSelector=` accept them: `a=b`, `a==b`, `a!=b`,
//! `a in (x,y)`, `a notin (x)`, `a`, `!a`, comma-separated (all must hold).

use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Req {
    Eq(String, String),
    Ne(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

/// A parsed selector.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selector(Vec<Req>);

impl Selector {
    pub fn parse(s: &str) -> Result<Selector, String> {
        let mut reqs = Vec::new();
        // Split on commas outside parentheses.
        let mut parts = Vec::new();
        let (mut depth, mut start) = (0i32, 0usize);
        for (i, c) in s.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                ',' if depth == 0 => {
                    parts.push(&s[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        parts.push(&s[start..]);
        let bad = |p: &str| {
            format!(
                "unable to parse requirement: {p:?}: expected key, !key, key=value, key!=value, key in (a,b) or key notin (a,b)"
            )
        };
        for part in parts {
            let p = part.trim();
            if p.is_empty() {
                continue;
            }
            let set_op = |op: &str| -> Option<(String, Vec<String>)> {
                let idx = p.find(op)?;
                let key = p[..idx].trim();
                let rest = p[idx + op.len()..].trim();
                let inner = rest.strip_prefix('(')?.strip_suffix(')')?;
                (!key.is_empty() && !key.contains(' ')).then(|| {
                    (
                        key.to_string(),
                        inner.split(',').map(|v| v.trim().to_string()).filter(|v| !v.is_empty()).collect(),
                    )
                })
            };
            let req = if let Some((k, v)) = set_op(" notin ") {
                Req::NotIn(k, v)
            } else if let Some((k, v)) = set_op(" in ") {
                Req::In(k, v)
            } else if let Some((k, v)) = p.split_once("!=") {
                Req::Ne(k.trim().into(), v.trim().into())
            } else if let Some((k, v)) = p.split_once("==") {
                Req::Eq(k.trim().into(), v.trim().into())
            } else if let Some((k, v)) = p.split_once('=') {
                Req::Eq(k.trim().into(), v.trim().into())
            } else if let Some(k) = p.strip_prefix('!') {
                Req::NotExists(k.trim().into())
            } else {
                Req::Exists(p.into())
            };
            let key = match &req {
                Req::Eq(k, _)
                | Req::Ne(k, _)
                | Req::In(k, _)
                | Req::NotIn(k, _)
                | Req::Exists(k)
                | Req::NotExists(k) => k,
            };
            if key.is_empty() || key.contains(|c: char| c.is_whitespace() || c == '(' || c == ')') {
                return Err(bad(p));
            }
            reqs.push(req);
        }
        Ok(Selector(reqs))
    }

    pub fn matches(&self, labels: Option<&serde_json::Map<String, serde_json::Value>>) -> bool {
        let empty = serde_json::Map::new();
        let labels = labels.unwrap_or(&empty);
        let get = |k: &str| labels.get(k).and_then(|v| v.as_str());
        self.0.iter().all(|r| match r {
            Req::Eq(k, v) => get(k) == Some(v.as_str()),
            Req::Ne(k, v) => get(k) != Some(v.as_str()),
            Req::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            Req::NotIn(k, vs) => get(k).is_none_or(|x| vs.iter().all(|v| v != x)),
            Req::Exists(k) => get(k).is_some(),
            Req::NotExists(k) => get(k).is_none(),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// For tests and callers holding typed labels.
pub fn to_map(labels: &BTreeMap<String, String>) -> serde_json::Map<String, serde_json::Value> {
    labels.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone()))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equality_and_set_based() {
        let l = to_map(&BTreeMap::from([
            ("app".to_string(), "nginx".to_string()),
            ("tier".to_string(), "web".to_string()),
        ]));
        for (sel, want) in [
            ("app=nginx", true),
            ("app==nginx,tier!=db", true),
            ("app in (nginx, redis)", true),
            ("app notin (nginx)", false),
            ("tier", true),
            ("!tier", false),
            ("app=nginx,missing", false),
            ("", true),
        ] {
            assert_eq!(Selector::parse(sel).unwrap().matches(Some(&l)), want, "{sel}");
        }
        assert!(Selector::parse("a b").is_err());
    }
}
