//! Label selectors as kubectl accepts them (`-l`): equality (`a=b`, `a==b`, `a!=b`),
//! set-based (`a in (x,y)`, `a notin (x)`), existence (`a`, `!a`). Parsed before
//! anything is sent so a typo fails locally; also used to filter client-side.

use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq)]
enum Op {
    Eq(String),
    NotEq(String),
    In(Vec<String>),
    NotIn(Vec<String>),
    Exists,
    NotExists,
}

/// A parsed selector: all requirements must hold.
#[derive(Debug, Clone, PartialEq)]
pub struct Selector(Vec<(String, Op)>);

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && s.as_bytes()[0].is_ascii_alphanumeric()
        && s.as_bytes()[s.len() - 1].is_ascii_alphanumeric()
}

fn check_key(k: &str) -> Result<(), String> {
    let (prefix, name) = match k.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, k),
    };
    let prefix_ok = prefix
        .is_none_or(|p| !p.is_empty() && p.len() <= 253 && p.split('.').all(crate::ctl::resource::is_dns1123_label));
    if !prefix_ok || !valid_name(name) {
        return Err(format!(
            "unable to parse requirement: invalid label key {k:?}: name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
        ));
    }
    Ok(())
}

fn check_value(v: &str) -> Result<(), String> {
    if v.is_empty() || valid_name(v) {
        Ok(())
    } else {
        Err(format!(
            "unable to parse requirement: values[0]: Invalid value: {v:?}: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
        ))
    }
}

/// Splits on commas outside parentheses.
fn split_top(s: &str) -> Result<Vec<&str>, String> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return Err("unable to parse requirement: found ')', expected: identifier".into());
                }
            }
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err("unable to parse requirement: found '', expected: ')'".into());
    }
    out.push(&s[start..]);
    Ok(out)
}

fn set_values(rest: &str) -> Result<Vec<String>, String> {
    let rest = rest.trim();
    let inner = rest
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(|| format!("unable to parse requirement: found {rest:?}, expected: '('"))?;
    let vals: Vec<String> = inner.split(',').map(|v| v.trim().to_string()).collect();
    for v in &vals {
        check_value(v)?;
    }
    Ok(vals)
}

impl Selector {
    /// Parses a selector; the empty string selects everything.
    pub fn parse(s: &str) -> Result<Selector, String> {
        let mut reqs = Vec::new();
        if s.trim().is_empty() {
            return Ok(Selector(reqs));
        }
        for part in split_top(s)? {
            let part = part.trim();
            if part.is_empty() {
                return Err("unable to parse requirement: found ',', expected: identifier".into());
            }
            let req = if let Some(k) = part.strip_prefix('!') {
                (k.trim().to_string(), Op::NotExists)
            } else if let Some((k, rest)) = part.split_once(" notin ") {
                (k.trim().to_string(), Op::NotIn(set_values(rest)?))
            } else if let Some((k, rest)) = part.split_once(" in ") {
                (k.trim().to_string(), Op::In(set_values(rest)?))
            } else if let Some((k, v)) = part.split_once("!=") {
                check_value(v.trim())?;
                (k.trim().to_string(), Op::NotEq(v.trim().to_string()))
            } else if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
                if v.contains('=') || v.contains('(') || v.contains(')') {
                    return Err(format!("unable to parse requirement: values[0]: Invalid value: {:?}", v.trim()));
                }
                check_value(v.trim())?;
                (k.trim().to_string(), Op::Eq(v.trim().to_string()))
            } else {
                if part.contains(' ') || part.contains('(') {
                    return Err(format!(
                        "unable to parse requirement: found {part:?}, expected: in, notin, =, ==, !=, gt, lt"
                    ));
                }
                (part.to_string(), Op::Exists)
            };
            check_key(&req.0)?;
            reqs.push(req);
        }
        Ok(Selector(reqs))
    }

    /// Whether `labels` satisfy every requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.0.iter().all(|(k, op)| {
            let v = labels.get(k);
            match op {
                Op::Eq(want) => v == Some(want),
                Op::NotEq(want) => v != Some(want),
                Op::In(set) => v.is_some_and(|v| set.contains(v)),
                Op::NotIn(set) => v.is_none_or(|v| !set.contains(v)),
                Op::Exists => v.is_some(),
                Op::NotExists => v.is_none(),
            }
        })
    }

    /// Matches an object's `metadata.labels` (JSON).
    pub fn matches_object(&self, obj: &serde_json::Value) -> bool {
        let labels = obj
            .pointer("/metadata/labels")
            .and_then(|l| l.as_object())
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect())
            .unwrap_or_default();
        self.matches(&labels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn parses_every_form() {
        let l = labels(&[("app", "nginx"), ("tier", "web"), ("statefulset.kubernetes.io/pod-name", "web-0")]);
        for (sel, want) in [
            ("", true),
            ("app=nginx", true),
            ("app==nginx", true),
            ("app!=nginx", false),
            ("app=nginx,tier=db", false),
            ("app in (nginx, zk)", true),
            ("app notin (nginx)", false),
            ("tier,app", true),
            ("!missing", true),
            ("!app", false),
            ("statefulset.kubernetes.io/pod-name=web-0", true),
            ("app in (a,b),tier=web", false),
            ("missing notin (x)", true),
        ] {
            assert_eq!(Selector::parse(sel).unwrap().matches(&l), want, "{sel}");
        }
    }

    #[test]
    fn rejects_malformed() {
        for bad in ["a=(b", "app in (a", "a,,b", "-bad=x", "app=b=c", "app in a", "app foo", "a=b c"] {
            let e = Selector::parse(bad).unwrap_err();
            assert!(e.starts_with("unable to parse requirement"), "{bad}: {e}");
        }
    }
}
