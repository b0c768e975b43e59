//! `wait --for=condition=Ready|delete|jsonpath=... TYPE NAME | TYPE -l SEL [--timeout 30s]`:
//! kubectl's `wait`, by polling (every 100 ms) rather than watching.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::args::WaitFor;
use super::print::{arr, s};
use super::resource::Resource;
use super::{Ctl, CtlError, jsonpath};

fn met(obj: &Value, cond: &WaitFor) -> bool {
    match cond {
        WaitFor::Condition(ty, want) => arr(obj, "/status/conditions")
            .iter()
            .any(|c| s(c, "/type").eq_ignore_ascii_case(ty) && s(c, "/status").eq_ignore_ascii_case(want)),
        WaitFor::JsonPath(path, want) => match jsonpath::execute(path, obj) {
            Ok(got) => match want {
                Some(w) => got == *w,
                None => !got.is_empty(),
            },
            Err(_) => false,
        },
        WaitFor::Delete => false,
    }
}

pub fn wait(
    ctl: &mut Ctl<'_>,
    res: &'static Resource,
    names: &[String],
    selector: Option<&str>,
    cond: &WaitFor,
    timeout: Duration,
) -> Result<(), CtlError> {
    let ns = ctl.inv.ns().to_string();
    let deadline = Instant::now() + timeout;
    let mut targets: Vec<String> = names.to_vec();
    if let Some(sel) = selector {
        let (items, _) = ctl.list(res, Some(sel))?;
        targets.extend(items.iter().map(|o| s(o, "/metadata/name").to_string()));
        if targets.is_empty() {
            return Err(CtlError::Msg("no matching resources found".into()));
        }
    }
    for name in &targets {
        let mut uid: Option<String> = None;
        loop {
            let done = match ctl.get_object(res, &ns, name) {
                Ok(o) => {
                    let this_uid = s(&o, "/metadata/uid").to_string();
                    match cond {
                        // Deleted once the object we first saw is gone (a re-created one is new).
                        WaitFor::Delete => uid.get_or_insert(this_uid.clone()) != &this_uid,
                        _ => met(&o, cond),
                    }
                }
                Err(CtlError::Server { code: 404, .. }) if *cond == WaitFor::Delete => true,
                Err(e) => return Err(e),
            };
            if done {
                writeln!(ctl.out, "{}/{name} condition met", res.qualified())?;
                ctl.out.flush()?;
                break;
            }
            if Instant::now() >= deadline {
                return Err(CtlError::Msg(format!("timed out waiting for the condition on {}/{name}", res.plural)));
            }
            std::thread::sleep(Duration::from_millis(100).min(deadline.saturating_duration_since(Instant::now())));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn conditions_and_jsonpath() {
        let pod = json!({"status": {"conditions": [{"type": "Ready", "status": "True"}], "podIP": "10.244.0.1"}});
        assert!(met(&pod, &WaitFor::Condition("ready".into(), "true".into())));
        assert!(!met(&pod, &WaitFor::Condition("Ready".into(), "False".into())));
        assert!(!met(&pod, &WaitFor::Condition("PodScheduled".into(), "True".into())));
        assert!(met(&pod, &WaitFor::JsonPath("{.status.podIP}".into(), Some("10.244.0.1".into()))));
        assert!(met(&pod, &WaitFor::JsonPath("{.status.podIP}".into(), None)));
        assert!(!met(&pod, &WaitFor::JsonPath("{.status.hostIP}".into(), None)));
    }
}
