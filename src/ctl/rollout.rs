//! `rollout status statefulset NAME`: kubectl's `StatefulSetStatusViewer` over a watch.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::client::ClientError;
use super::print::{i, s};
use super::resource::Resource;
use super::{Ctl, CtlError};

/// kubectl's StatefulSet status message for `sts` and whether the rollout is done.
pub fn viewer(sts: &Value) -> Result<(String, bool), String> {
    if s(sts, "/spec/updateStrategy/type") != "RollingUpdate" {
        return Err("rollout status is only available for RollingUpdate strategy type".into());
    }
    let observed = i(sts, "/status/observedGeneration");
    if observed == 0 || i(sts, "/metadata/generation") > observed {
        return Ok(("Waiting for statefulset spec update to be observed...\n".into(), false));
    }
    let replicas = sts.pointer("/spec/replicas").and_then(Value::as_i64);
    let ready = i(sts, "/status/readyReplicas");
    if let Some(r) = replicas
        && ready < r
    {
        return Ok((format!("Waiting for {} pods to be ready...\n", r - ready), false));
    }
    let updated = i(sts, "/status/updatedReplicas");
    if sts.pointer("/spec/updateStrategy/rollingUpdate").is_some_and(|v| !v.is_null()) {
        if let (Some(r), Some(p)) =
            (replicas, sts.pointer("/spec/updateStrategy/rollingUpdate/partition").and_then(Value::as_i64))
            && updated < r - p
        {
            return Ok((
                format!(
                    "Waiting for partitioned roll out to finish: {updated} out of {} new pods have been updated...\n",
                    r - p
                ),
                false,
            ));
        }
        return Ok((format!("partitioned roll out complete: {updated} new pods have been updated...\n"), true));
    }
    let (update_rev, current_rev) = (s(sts, "/status/updateRevision"), s(sts, "/status/currentRevision"));
    if update_rev != current_rev {
        return Ok((
            format!("waiting for statefulset rolling update to complete {updated} pods at revision {update_rev}...\n"),
            false,
        ));
    }
    Ok((
        format!(
            "statefulset rolling update complete {} pods at revision {current_rev}...\n",
            i(sts, "/status/currentReplicas")
        ),
        true,
    ))
}

fn timed_out() -> CtlError {
    CtlError::Msg("timed out waiting for the condition".into())
}

/// Watches `name` until its rollout completes (exit 0) or `timeout` passes (error).
pub fn status(ctl: &mut Ctl<'_>, res: &Resource, name: &str, timeout: Option<Duration>) -> Result<(), CtlError> {
    let ns = ctl.inv.ns().to_string();
    let deadline = timeout.map(|t| Instant::now() + t);
    let remaining = || -> Result<Option<Duration>, CtlError> {
        match deadline {
            None => Ok(None),
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() { Err(timed_out()) } else { Ok(Some(left)) }
            }
        }
    };
    let obj = ctl.get_object(res, &ns, name)?;
    if let Err(e) = viewer(&obj) {
        return Err(CtlError::Msg(e));
    }
    let path = format!("{}?watch=true", res.collection_path(Some(&ns)));
    loop {
        let (code, mut lines) = match ctl.client.stream(&path, remaining()?) {
            Ok(x) => x,
            Err(ClientError::TimedOut) => return Err(timed_out()),
            Err(e) => return Err(e.into()),
        };
        if !(200..300).contains(&code) {
            let mut body = Vec::new();
            while let Ok(Some(l)) = lines.next_line() {
                body.extend_from_slice(l.as_bytes());
            }
            return Err(CtlError::Server { code, body });
        }
        loop {
            lines.set_timeout(remaining()?);
            let line = match lines.next_line() {
                Ok(Some(l)) => l,
                Ok(None) => break,
                Err(ClientError::TimedOut) => return Err(timed_out()),
                Err(e) => return Err(e.into()),
            };
            let Ok(ev) = serde_json::from_str::<Value>(&line) else { continue };
            let Some(obj) = ev.get("object") else { continue };
            if s(obj, "/metadata/name") != name {
                continue;
            }
            match s(&ev, "/type") {
                "ADDED" | "MODIFIED" => {
                    let (msg, done) = viewer(obj).map_err(CtlError::Msg)?;
                    ctl.out.write_all(msg.as_bytes())?;
                    ctl.out.flush()?;
                    if done {
                        return Ok(());
                    }
                }
                "DELETED" => return Err(CtlError::Msg("object has been deleted".into())),
                _ => {}
            }
        }
        // The stream ended (server restart?): watch again.
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn messages_match_kubectl() {
        let mut sts = json!({"metadata":{"generation":2},"spec":{"replicas":3,"updateStrategy":{"type":"RollingUpdate"}},
            "status":{"observedGeneration":1,"readyReplicas":3,"updatedReplicas":1,"currentReplicas":2,"updateRevision":"web-b","currentRevision":"web-a"}});
        assert_eq!(viewer(&sts).unwrap(), ("Waiting for statefulset spec update to be observed...\n".into(), false));
        sts["status"]["observedGeneration"] = json!(2);
        sts["status"]["readyReplicas"] = json!(2);
        assert_eq!(viewer(&sts).unwrap(), ("Waiting for 1 pods to be ready...\n".into(), false));
        sts["status"]["readyReplicas"] = json!(3);
        assert_eq!(
            viewer(&sts).unwrap(),
            ("waiting for statefulset rolling update to complete 1 pods at revision web-b...\n".into(), false)
        );
        sts["status"]["currentRevision"] = json!("web-b");
        sts["status"]["currentReplicas"] = json!(3);
        assert_eq!(
            viewer(&sts).unwrap(),
            ("statefulset rolling update complete 3 pods at revision web-b...\n".into(), true)
        );
        sts["spec"]["updateStrategy"]["rollingUpdate"] = json!({"partition": 1});
        sts["status"]["updatedReplicas"] = json!(1);
        assert_eq!(
            viewer(&sts).unwrap(),
            ("Waiting for partitioned roll out to finish: 1 out of 2 new pods have been updated...\n".into(), false)
        );
        sts["status"]["updatedReplicas"] = json!(2);
        assert_eq!(
            viewer(&sts).unwrap(),
            ("partitioned roll out complete: 2 new pods have been updated...\n".into(), true)
        );
        sts["spec"]["updateStrategy"] = json!({"type":"OnDelete"});
        assert!(viewer(&sts).unwrap_err().contains("only available for RollingUpdate"));
    }
}
