#!/usr/bin/env python3
"""Randomized churn: services and StatefulSets created, scaled and deleted, DNS checked after each step.

    churn.py [--steps N] [--seed S] [--allow FILE] REFERENCE_IP:PORT [OTHER_IP:PORT ...]

Needs the cluster env from up.sh (KUBECTL, KUBECONFIG). Works in namespace `churn`.
After every step it waits until the API state has settled (rollout done, deleted pods gone),
derives the expected DNS names from the API (the oracle), and then, within a bounded time:
  * REFERENCE (CoreDNS) must answer every <pod>.<svc>.churn.svc.cluster.local with the pod IP,
    the headless service name with exactly the ready pod IPs, and names of deleted sets with
    NXDOMAIN;
  * every OTHER server (ordinal) must give the same answers as REFERENCE for all of those
    questions, compared as sets by compare.py (allow-list honoured).
Exit 0 when every step converged; prints the failing step, question and difference otherwise.
The sequence is reproducible from --seed.
"""
import argparse
import importlib.util
import json
import os
import random
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("compare", os.path.join(HERE, "compare.py"))
cmp = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cmp)

NS = "churn"


def kc(*args, input=None, check=True):
    p = subprocess.run([os.environ["KUBECTL"], *args], input=input, capture_output=True, text=True, timeout=120)
    if check and p.returncode != 0:
        raise RuntimeError(f"kubectl {' '.join(args)}: {p.stderr.strip()}")
    return p.stdout


def manifest(name, replicas):
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": NS},
         "spec": {"clusterIP": "None", "selector": {"churn": name},
                  "ports": [{"name": "web", "port": 80}]}},
        {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": name, "namespace": NS},
         "spec": {"serviceName": name, "replicas": replicas, "podManagementPolicy": "Parallel",
                  "selector": {"matchLabels": {"churn": name}},
                  "template": {"metadata": {"labels": {"churn": name}},
                               "spec": {"containers": [{"name": "c", "image": "example.invalid/none"}]}}}}]})


def settle(sets, timeout=120):
    """Wait until every live set has exactly its replicas Ready and no terminating pods remain."""
    deadline = time.monotonic() + timeout
    while True:
        pods = json.loads(kc("-n", NS, "get", "pods", "-o", "json"))["items"]
        by_set = {}
        terminating = 0
        for p in pods:
            if p["metadata"].get("deletionTimestamp"):
                terminating += 1
                continue
            owner = p["metadata"]["labels"].get("churn")
            ready = any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", []))
            if ready and p["status"].get("podIP"):
                by_set.setdefault(owner, {})[p["metadata"]["name"]] = p["status"]["podIP"]
        ok = terminating == 0 and all(len(by_set.get(n, {})) == r for n, r in sets.items()) \
            and all(n in sets for n in by_set)
        if ok:
            return by_set
        if time.monotonic() > deadline:
            raise RuntimeError(f"API state did not settle in {timeout}s: want {sets}, ready {by_set}, terminating {terminating}")
        time.sleep(0.3)


def ask(server, q, allow_empty=False):
    rc, text = cmp.dig(server, q[0], q[1])
    if rc != 0:
        raise RuntimeError(f"dig {server} {q}: {text}")
    return cmp.parse(text, False, False)


def check_step(servers, entries, sets, by_set, gone, timeout):
    ref, others = servers[0], servers[1:]
    expect = {}
    for name, pods in by_set.items():
        for pod, ip in pods.items():
            expect[(f"{pod}.{name}.{NS}.svc.cluster.local", "A")] = ("NOERROR", {ip})
        expect[(f"{name}.{NS}.svc.cluster.local", "A")] = ("NOERROR", set(pods.values()))
        expect[(f"_web._tcp.{name}.{NS}.svc.cluster.local", "SRV")] = ("NOERROR", None)
    for name in sets:
        if not by_set.get(name):
            # a headless service without ready endpoints: no addresses; the rcode is whatever
            # the reference says (the other servers are still compared with it)
            expect[(f"{name}.{NS}.svc.cluster.local", "A")] = (None, set())
    for name in gone:
        expect[(f"{name}.{NS}.svc.cluster.local", "A")] = ("NXDOMAIN", set())
        expect[(f"{name}-0.{name}.{NS}.svc.cluster.local", "A")] = ("NXDOMAIN", set())
    deadline = time.monotonic() + timeout
    while True:
        problems = []
        for q, (rcode, ips) in expect.items():
            r = ask(ref, q)
            got = {rr[3] for rr in r["answer"] if rr[2] == "A"}
            if (rcode is not None and r["rcode"] != rcode) or (ips is not None and got != ips):
                problems.append(f"reference {q[0]} {q[1]}: {r['rcode']} {sorted(got)}, API says {rcode} {sorted(ips or [])}")
                continue
            for o in others:
                bad, _ = cmp.compare(ask(o, q), r, q[0], q[1], entries)
                problems += [f"{o[0]}:{o[1]} (A) vs reference (B), {q[0]} {q[1]}: {m}" for m in bad]
        if not problems:
            return len(expect)
        if time.monotonic() > deadline:
            raise RuntimeError("DNS did not converge within %ss:\n  " % timeout + "\n  ".join(problems[:20]))
        time.sleep(0.2)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("servers", nargs="+")
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--allow")
    ap.add_argument("--converge", type=float, default=10, help="seconds DNS may lag behind the API")
    args = ap.parse_args()
    servers = [cmp.parse_server(s) for s in args.servers]
    entries = cmp.load_allow(args.allow) if args.allow else []
    rng = random.Random(args.seed)
    print(f"churn: seed {args.seed}, {args.steps} steps, reference {args.servers[0]}, others {args.servers[1:]}")
    kc("create", "namespace", NS, check=False)
    sets, gone, counter, t0 = {}, set(), 0, time.monotonic()
    for step in range(1, args.steps + 1):
        ops = ["create"] + (["scale", "scale", "delete"] if sets else [])
        op = rng.choice(ops) if len(sets) < 6 else rng.choice(["scale", "delete"])
        if op == "create":
            counter += 1
            name, r = f"c{counter}", rng.randint(0, 4)
            kc("apply", "-f", "-", input=manifest(name, r))
            sets[name] = r
            gone.discard(name)
            desc = f"create {name} replicas={r}"
        elif op == "scale":
            name = rng.choice(sorted(sets))
            r = rng.randint(0, 5)
            kc("-n", NS, "scale", f"statefulset/{name}", f"--replicas={r}")
            desc = f"scale {name} {sets[name]}->{r}"
            sets[name] = r
        else:
            name = rng.choice(sorted(sets))
            kc("-n", NS, "delete", "statefulset,service", name, "--wait=false")
            del sets[name]
            gone.add(name)
            desc = f"delete {name}"
        t = time.monotonic()
        try:
            by_set = settle(sets)
            n = check_step(servers, entries, sets, by_set, gone, args.converge)
        except RuntimeError as e:
            print(f"FAIL step {step} ({desc}): {e}")
            return 1
        print(f"step {step:3}: {desc:28} ok: {n} questions, {sum(len(p) for p in by_set.values())} pods, "
              f"settled+converged in {time.monotonic() - t:.1f}s")
    kc("delete", "namespace", NS, "--wait=false", check=False)
    print(f"churn: all {args.steps} steps converged (seed {args.seed}, {time.monotonic() - t0:.0f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
