#!/usr/bin/env python3
"""The StatefulSet tutorial scenarios on a real cluster, recorded as an observable sequence.

    sts-scenarios.py --seeds DIR --out FILE --dns 127.0.0.1:PORT

Needs the cluster env from up.sh (KUBECTL, API_URL, API_TOKEN, API_CA). Whichever controller
manages StatefulSets (kube-controller-manager's, or ordinal --manage-statefulsets), this script
drives the same steps and writes what a user could observe, one line per transition:

  pod <ns>/<name> created rev=<controller-revision-hash> | ready | unready | terminating |
      deleted | owner=<kind/name or none> | rev=<hash>
  pvc <ns>/<name> created | deleted | owners=[...]
  status <ns>/<set> replicas=.. ready=.. current=.. updated=.. available=.. currentRevision=..
      updateRevision=.. observedGeneration=.. collisionCount=..
  revisions <ns>/<set> [name:revision ...]

and, with --events FILE, every distinct event about a StatefulSet seen during the run
(`<ns>/<set> <type> <reason>: <message>`, the "(combined from similar events): " prefix of
client-go's aggregator removed; a watch sees each message even when the aggregator later
overwrites it). Upstream's recorder also drops events above 25 per set and reason (client-go's
spam filter) and ordinal's does not, so events are compared as: same reasons, and every
upstream message also emitted by ordinal.

Transitions come from watches on pods and PVCs merged in etcd order (resourceVersion) and
grouped per StatefulSet (pods and claims named after it), so independent sets do not
interleave. Groups of sets with podManagementPolicy Parallel are sorted within each step
(upstream creates a Parallel batch from goroutines: order inside a batch is not defined).
After every step the script waits until the set has settled, checks DNS (every Ready pod's
<pod>.<service>.<ns>.svc.cluster.local answers its IP from the --dns server), then records the
set's status, revisions and events. Two runs (upstream, ordinal) must produce identical files.
Exit 1 with the failing step on a timeout or a DNS mismatch.
"""
import argparse
import json
import os
import re
import ssl
import subprocess
import sys
import threading
import time
import urllib.request

TIMEOUT = 120


def kc(*args, input=None, check=True):
    p = subprocess.run([os.environ["KUBECTL"], *args], input=input, capture_output=True, text=True, timeout=TIMEOUT)
    if check and p.returncode != 0:
        raise RuntimeError(f"kubectl {' '.join(args)}: {p.stderr.strip()}")
    return p.stdout


def api_get(path):
    ctx = ssl.create_default_context(cafile=os.environ["API_CA"])
    req = urllib.request.Request(os.environ["API_URL"] + path,
                                 headers={"Authorization": "Bearer " + os.environ["API_TOKEN"]})
    return urllib.request.urlopen(req, context=ctx, timeout=TIMEOUT)


COMBINED = "(combined from similar events): "


class Recorder:
    """Watches pods and PVCs in every namespace, keeping (rv, kind, type, object), and the
    Events about StatefulSets, keeping their distinct messages."""

    def __init__(self):
        self.events = []
        self.messages = set()
        self.lock = threading.Lock()
        for kind, path, sel in (("pod", "/api/v1/pods", ""), ("pvc", "/api/v1/persistentvolumeclaims", ""),
                                ("event", "/api/v1/events", "&fieldSelector=involvedObject.kind%3DStatefulSet")):
            rv = json.load(api_get(path + "?limit=1"))["metadata"]["resourceVersion"]
            threading.Thread(target=self.watch, args=(kind, path + "?watch=1" + sel, rv), daemon=True).start()

    def watch(self, kind, path, rv):
        while True:
            try:
                with api_get(f"{path}&resourceVersion={rv}&timeoutSeconds=3600") as stream:
                    for line in stream:
                        ev = json.loads(line)
                        obj = ev["object"]
                        if ev["type"] == "ERROR":
                            raise RuntimeError(obj.get("message"))
                        rv = obj["metadata"]["resourceVersion"]
                        with self.lock:
                            if kind == "event" and ev["type"] != "DELETED":
                                o, msg = obj["involvedObject"], obj.get("message", "")
                                self.messages.add(f"{o.get('namespace')}/{o.get('name')} {obj.get('type')} "
                                                  f"{obj.get('reason')}: {msg.removeprefix(COMBINED)}")
                            elif kind != "event":
                                self.events.append((int(rv), kind, ev["type"], obj))
            except Exception as e:  # reconnect from the last resourceVersion
                print(f"watch {kind}: {e}; reconnecting", file=sys.stderr)
                time.sleep(0.5)

    def drain(self):
        """The events received so far, in etcd order, once the streams have been quiet for 1 s
        (the step has settled, so only stragglers of it are still in flight)."""
        n, quiet = -1, 0.0
        while quiet < 1.0:
            with self.lock:
                m = len(self.events)
            quiet = quiet + 0.2 if m == n else 0.0
            n = m
            time.sleep(0.2)
        with self.lock:
            out, self.events = self.events, []
        return sorted(out, key=lambda e: e[0])


SET_OF = re.compile(r"^(?:[a-z0-9-]+?-)?(?P<set>[a-z0-9-]+)-(?P<ord>[0-9]+)$")


class Sequence:
    """Abstract state per object; emits a line when it changes."""

    def __init__(self, sets):
        self.sets = sets  # (ns, name) -> parallel?
        self.state = {}

    def group(self, kind, ns, name):
        for (sns, sname) in self.sets:
            if sns != ns:
                continue
            if kind == "pod" and re.fullmatch(re.escape(sname) + r"-[0-9]+", name):
                return (sns, sname)
            if kind == "pvc" and re.fullmatch(r"[a-z0-9-]+-" + re.escape(sname) + r"-[0-9]+", name):
                return (sns, sname)
        return None

    @staticmethod
    def abstract(kind, typ, obj):
        m = obj["metadata"]
        if typ == "DELETED":
            return None
        if kind == "pod":
            ready = any(c["type"] == "Ready" and c["status"] == "True" for c in obj.get("status", {}).get("conditions", []))
            owner = next((f"{r['kind']}/{r['name']}" for r in m.get("ownerReferences", []) if r.get("controller")), "none")
            return {"uid": m["uid"], "rev": m.get("labels", {}).get("controller-revision-hash", ""),
                    "ready": ready, "terminating": "deletionTimestamp" in m, "owner": owner}
        owners = sorted(f"{r['kind']}/{r['name']}" for r in m.get("ownerReferences", []))
        return {"uid": m["uid"], "owners": owners}

    def lines(self, events):
        out = {}
        for _rv, kind, typ, obj in events:
            ns, name = obj["metadata"].get("namespace", ""), obj["metadata"]["name"]
            g = self.group(kind, ns, name)
            if g is None:
                continue
            key = (kind, ns, name)
            old, new = self.state.get(key), self.abstract(kind, typ, obj)
            lines = out.setdefault(g, [])
            who = f"{kind} {ns}/{name}"
            if new is None:
                if old is not None:
                    lines.append(f"{who} deleted")
                self.state.pop(key, None)
                continue
            if old is None or old["uid"] != new["uid"]:
                if old is not None:
                    lines.append(f"{who} deleted")
                extra = f" rev={new['rev']} owner={new['owner']}" if kind == "pod" else f" owners={new['owners']}"
                lines.append(f"{who} created{extra}")
                old = dict(new, ready=False, terminating=False)
            for field in ("owner", "rev", "owners"):
                if field in new and old.get(field) != new[field]:
                    lines.append(f"{who} {field}={new[field]}")
            if kind == "pod":
                if new["ready"] != old["ready"]:
                    lines.append(f"{who} {'ready' if new['ready'] else 'unready'}")
                if new["terminating"] and not old["terminating"]:
                    lines.append(f"{who} terminating")
            self.state[key] = new
        return out


def sort_claims(lines):
    """Sorts each run of consecutive ownership changes: upstream's ClaimPods adopts/releases in
    its lister's (map) order, which is not defined."""
    out, run = [], []
    for l in lines + [None]:
        if l is not None and " owner=" in l:
            run.append(l)
            continue
        out += sorted(run)
        run = []
        if l is not None:
            out.append(l)
    return out


def dig(server, name):
    host, port = server.rsplit(":", 1)
    p = subprocess.run(["dig", f"@{host}", "-p", port, "+short", "+time=2", "+tries=2", name, "A"],
                       capture_output=True, text=True, timeout=30)
    return sorted(l for l in p.stdout.split() if re.fullmatch(r"[0-9.]+", l))


class Runner:
    def __init__(self, args):
        self.args = args
        self.out = open(args.out, "w")
        self.rec = Recorder()
        self.seq = Sequence({})

    def write(self, line):
        self.out.write(line + "\n")
        self.out.flush()

    def sts(self, ns, name):
        p = subprocess.run([os.environ["KUBECTL"], "-n", ns, "get", "statefulset", name, "-o", "json"],
                           capture_output=True, text=True, timeout=TIMEOUT)
        return json.loads(p.stdout) if p.returncode == 0 else None

    def pods(self, ns, name):
        items = json.loads(kc("-n", ns, "get", "pods", "-o", "json"))["items"]
        return [p for p in items if re.fullmatch(re.escape(name) + r"-[0-9]+", p["metadata"]["name"])]

    def wait(self, what, cond):
        deadline = time.monotonic() + TIMEOUT
        while not cond():
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out after {TIMEOUT}s waiting for {what}")
            time.sleep(0.3)

    def settled(self, ns, name, expect_pods=None, updated=True):
        """The set's controller caught up: observedGeneration current, `expect_pods` pods, all
        Ready, none terminating, and (if `updated`) every pod at the update revision."""
        s = self.sts(ns, name)
        if s is None:
            return False
        st, spec = s.get("status", {}), s["spec"]
        if st.get("observedGeneration", 0) < s["metadata"]["generation"]:
            return False
        want = spec.get("replicas", 1) if expect_pods is None else expect_pods
        pods = self.pods(ns, name)
        if len(pods) != want or st.get("readyReplicas", 0) != want or st.get("replicas", 0) != want:
            return False
        for p in pods:
            m = p["metadata"]
            ready = any(c["type"] == "Ready" and c["status"] == "True" for c in p.get("status", {}).get("conditions", []))
            if "deletionTimestamp" in m or not ready:
                return False
            if updated and m.get("labels", {}).get("controller-revision-hash") != st.get("updateRevision"):
                return False
        return True

    def check_dns(self, ns, name):
        s = self.sts(ns, name)
        svc = s["spec"]["serviceName"]
        deadline = time.monotonic() + 30
        for p in self.pods(ns, name):
            fqdn = f"{p['metadata']['name']}.{svc}.{ns}.svc.cluster.local"
            want = [p["status"]["podIP"]]
            while (got := dig(self.args.dns, fqdn)) != want:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"DNS: {fqdn} answered {got}, want {want}")
                time.sleep(0.2)

    def step(self, title, sets, action, settle=None, unordered=False):
        """Run `action`, wait for `settle` (default: every set settled), record. `unordered`:
        the step's transitions are made by the garbage collector (the same component in both
        runs, with no defined order among dependents), so they are compared sorted."""
        print(f"step: {title}", file=sys.stderr)
        action()
        self.wait(title, settle or (lambda: all(self.settled(ns, n) for ns, n in sets)))
        time.sleep(0.5)  # trailing status writes
        self.record(title, sets, unordered)

    def record(self, title, sets, unordered=False):
        self.write(f"## {title}")
        for key in sets:
            self.seq.sets.setdefault(key, False)
        for (ns, name) in sets:
            s = self.sts(ns, name)
            self.seq.sets[(ns, name)] = bool(s and s["spec"].get("podManagementPolicy") == "Parallel")
        groups = self.seq.lines(self.rec.drain())
        for key in sorted(groups):
            lines = groups[key]
            if unordered or self.seq.sets.get(key):
                lines = sorted(lines)
            else:
                lines = sort_claims(lines)
            for l in lines:
                self.write(l)
        for (ns, name) in sets:
            s = self.sts(ns, name)
            if s is None:
                self.write(f"status {ns}/{name} absent")
                continue
            st = s.get("status", {})
            self.write(f"status {ns}/{name} " + " ".join(f"{k}={st.get(k, 0)}" for k in (
                "replicas", "readyReplicas", "currentReplicas", "updatedReplicas", "availableReplicas",
                "currentRevision", "updateRevision", "observedGeneration", "collisionCount")))
            revs = json.loads(kc("-n", ns, "get", "controllerrevisions", "-o", "json"))["items"]
            mine = sorted(f"{r['metadata']['name']}:{r['revision']}" for r in revs
                          if any(o.get("uid") == s["metadata"]["uid"] for o in r["metadata"].get("ownerReferences", [])))
            self.write(f"revisions {ns}/{name} {' '.join(mine)}")
            if self.pods(ns, name):
                self.check_dns(ns, name)


def seed(seeds, name, tmp):
    """A seed manifest with legacy apps/v1beta* converted to apps/v1."""
    path = os.path.join(seeds, name)
    out = os.path.join(tmp, name)
    with open(out, "w") as f:
        subprocess.run([os.path.join(os.path.dirname(__file__), "v1beta1-to-v1.py"), path], stdout=f, check=True)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--dns", required=True)
    ap.add_argument("--events", help="write the distinct StatefulSet events seen here")
    ap.add_argument("--tmp", default="/tmp")
    args = ap.parse_args()
    r = Runner(args)
    web = seed(args.seeds, "web.yaml", args.tmp)
    W = [("default", "web")]

    def pods_named(ns, names):
        return lambda: sorted(p["metadata"]["name"] for p in r.pods(ns, "web")) == names and all(
            "deletionTimestamp" not in p["metadata"] for p in r.pods(ns, "web"))

    # StatefulSet Basics: ordered creation, pod deletion, scaling, updates.
    r.step("apply web (2 replicas, OrderedReady)", W, lambda: kc("apply", "-f", web))
    # One at a time: with both deleted at once, whether the simulated kubelet removes web-1
    # before the controller recreates web-0 is a race outside either controller.
    r.step("delete web-0: same name comes back", W, lambda: kc("delete", "pod", "web-0", "--wait=false"))
    r.step("delete web-1: same name comes back", W, lambda: kc("delete", "pod", "web-1", "--wait=false"))
    r.step("scale to 5", W, lambda: kc("scale", "statefulset", "web", "--replicas", "5"))
    r.step("scale to 3", W, lambda: kc("scale", "statefulset", "web", "--replicas", "3"))
    r.step("rolling update", W, lambda: kc("set", "image", "statefulset/web", "nginx=registry.k8s.io/nginx-slim:0.24"))
    r.step("partition 2 + new image: only web-2 moves", W, lambda: (
        kc("patch", "statefulset", "web", "-p", '{"spec":{"updateStrategy":{"type":"RollingUpdate","rollingUpdate":{"partition":2}}}}'),
        kc("set", "image", "statefulset/web", "nginx=registry.k8s.io/nginx-slim:0.25")),
        settle=lambda: r.settled("default", "web", updated=False) and any(
            p["metadata"]["name"] == "web-2" and p["metadata"]["labels"].get("controller-revision-hash") == r.sts("default", "web")["status"]["updateRevision"]
            for p in r.pods("default", "web")))
    r.step("partition 0: the rest follow", W, lambda: kc(
        "patch", "statefulset", "web", "-p", '{"spec":{"updateStrategy":{"rollingUpdate":{"partition":0}}}}'))
    r.step("OnDelete + new image: nothing moves", W, lambda: (
        kc("patch", "statefulset", "web", "--type=json", "-p",
           '[{"op":"replace","path":"/spec/updateStrategy","value":{"type":"OnDelete"}}]'),
        kc("set", "image", "statefulset/web", "nginx=registry.k8s.io/nginx-slim:0.26")),
        settle=lambda: r.settled("default", "web", updated=False))
    r.step("OnDelete: delete web-1, it comes back updated", W,
           lambda: kc("delete", "pod", "web-1", "--wait=false"),
           settle=lambda: r.settled("default", "web", updated=False) and any(
               p["metadata"]["name"] == "web-1" and p["metadata"]["labels"].get("controller-revision-hash") == r.sts("default", "web")["status"]["updateRevision"]
               for p in r.pods("default", "web")))
    # Orphan delete and adoption: the set goes, pods stay; re-apply (2 replicas) adopts
    # web-0/web-1 and terminates the surplus web-2.
    r.step("delete --cascade=orphan: pods stay", W,
           lambda: kc("delete", "statefulset", "web", "--cascade=orphan"),
           settle=lambda: r.sts("default", "web") is None and pods_named("default", ["web-0", "web-1", "web-2"])() and all(
               "ownerReferences" not in p["metadata"] for p in r.pods("default", "web")), unordered=True)
    r.step("re-apply: adopt web-0/web-1, terminate web-2", W, lambda: kc("apply", "-f", web))
    # Cascading delete (the garbage collector's job) and PVC reuse.
    r.step("cascading delete: pods go, PVCs stay", W, lambda: kc("delete", "statefulset", "web", "--wait=false"),
           settle=lambda: r.sts("default", "web") is None and not r.pods("default", "web"), unordered=True)
    r.step("re-apply: PVCs reused", W, lambda: kc("apply", "-f", web))

    # Revision name collision (getStatefulSetRevisions → CreateControllerRevision): a foreign
    # ControllerRevision (no labels, no owner) already holds the name web's template hashes to,
    # with other data. The controller must bump status.collisionCount and use the next name.
    clash_name = r.sts("default", "web")["status"]["updateRevision"]
    kc("create", "namespace", "clash")
    kc("-n", "clash", "create", "-f", "-", input=json.dumps({
        "apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": {"name": clash_name},
        "data": {"spec": {"template": {"metadata": {"labels": {"not": "web"}}}}}, "revision": 1}))
    # Pods need the namespace's default ServiceAccount; and both controllers' listers must hold
    # the foreign revision before the set appears.
    r.wait("the default ServiceAccount of namespace clash",
           lambda: kc("-n", "clash", "get", "serviceaccount", "default", "-o", "name", check=False).strip())
    time.sleep(1)
    C = [("clash", "web")]
    r.step("revision name collision: collisionCount 1, next name", C, lambda: kc("-n", "clash", "apply", "-f", web))
    s = r.sts("clash", "web")["status"]
    if s.get("collisionCount") != 1 or s.get("updateRevision") == clash_name:
        raise RuntimeError(f"revision collision: collisionCount={s.get('collisionCount')} "
                           f"updateRevision={s.get('updateRevision')} (the foreign one is {clash_name})")

    # Parallel, mysql in its namespace, zookeeper.
    redis = seed(args.seeds, "redis-cluster.yaml", args.tmp)
    with open(redis) as f:
        text = f.read().replace("  replicas: 4\n", "  replicas: 4\n  podManagementPolicy: Parallel\n")
    with open(redis, "w") as f:
        f.write(text)
    R = [("default", "redis-cluster")]
    r.step("redis-cluster: Parallel, 4 replicas", R, lambda: kc("apply", "-f", redis))
    r.step("redis-cluster: scale to 1 (Parallel)", R, lambda: kc("scale", "statefulset", "redis-cluster", "--replicas", "1"))
    M = [("p1-dev", "mysql")]
    r.step("mysql in p1-dev", M, lambda: kc("apply", "-f", seed(args.seeds, "mysql.yaml", args.tmp)))
    Z = [("default", "zookeeper")]
    r.step("zookeeper", Z, lambda: kc("apply", "-f", seed(args.seeds, "zookeeper.yaml", args.tmp)))
    if args.events:
        time.sleep(1)
        with r.rec.lock, open(args.events, "w") as f:
            f.writelines(m + "\n" for m in sorted(r.rec.messages))
    print(f"sts-scenarios: all steps settled; sequence in {args.out}", file=sys.stderr)


if __name__ == "__main__":
    try:
        main()
    except RuntimeError as e:
        print(f"sts-scenarios: FAIL: {e}", file=sys.stderr)
        sys.exit(1)
