#!/usr/bin/env python3
"""Questions that depend on run-time addresses, from `kubectl get pods,services,endpointslices -A -o json`
on stdin: PTR of every pod, ClusterIP and endpoint address; dashed-IP pod names
(<a-b-c-d>.<ns>.pod.<zone>); dashed-IP endpoint names (<a-b-c-d>.<svc>.<ns>.svc.<zone>) for every
endpoint, ready or not, of every service (checklist #17, #21, #45)."""
import ipaddress
import json
import sys

ZONE = "cluster.local"
out = []


def rev(ip):
    return ipaddress.ip_address(ip).reverse_pointer


def dashed(ip):
    a = ipaddress.ip_address(ip)
    return ip.replace(".", "-") if a.version == 4 else a.exploded.replace(":", "-")


for it in json.load(sys.stdin)["items"]:
    kind, meta = it["kind"], it["metadata"]
    ns = meta.get("namespace", "")
    if kind == "Pod":
        ip = (it.get("status") or {}).get("podIP")
        if ip:
            out += [f"{rev(ip)} PTR", f"{dashed(ip)}.{ns}.pod.{ZONE} A"]
    elif kind == "Service":
        for ip in (it.get("spec") or {}).get("clusterIPs") or []:
            if ip != "None":
                out.append(f"{rev(ip)} PTR")
    elif kind == "EndpointSlice":
        svc = (meta.get("labels") or {}).get("kubernetes.io/service-name")
        if not svc:
            continue
        qtype = "AAAA" if it.get("addressType") == "IPv6" else "A"
        for ep in it.get("endpoints") or []:
            for a in ep.get("addresses") or []:
                out += [f"{rev(a)} PTR", f"{dashed(a)}.{svc}.{ns}.svc.{ZONE} {qtype}"]
seen = set()
for q in out:
    if q not in seen:
        seen.add(q)
        print(q)
