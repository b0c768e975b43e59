#!/usr/bin/env python3
"""Differential DNS check: ask two servers the same questions and compare the answers as sets.

    compare.py A_HOST:PORT B_HOST:PORT [--allow FILE] [--ttl] [--tcp] [--soa-serial]
               (--queries FILE | NAME TYPE [NAME TYPE ...])

For every question both servers are asked with `dig` (no DNS library needed) and compared on:
  rcode; the AA and TC flags; the answer, authority and additional sections as sets of
  (owner name, type, rdata). Names are compared case-insensitively. TTLs are ignored unless
  --ttl is given. The OPT pseudo-record (EDNS) is not compared.
  The SOA serial is masked unless --soa-serial: CoreDNS derives it from the time of the last
  change it saw, so two correct servers legitimately disagree on it.

Queries file: one `NAME TYPE` per line; `#` starts a comment.

Allow-list file (intentional differences). Every entry is one line
    QNAME_GLOB QTYPE_OR_* WHAT
with WHAT one of: rcode, aa, tc, answer, authority, additional, or SECTION:TYPE (only records of
that type in that section, e.g. additional:A). Each entry MUST be directly preceded by at
least one `#` comment line that justifies it; the file is rejected otherwise.

Only loopback servers are accepted (tests never send traffic elsewhere).
Exit status: 0 when every difference is allowed, 1 when any is not, 2 on usage/tool errors.
"""
import argparse
import fnmatch
import ipaddress
import re
import subprocess
import sys

SECTIONS = ("answer", "authority", "additional")


class ToolError(Exception):
    pass


def parse_server(s):
    host, _, port = s.rpartition(":")
    host = host.strip("[]")
    try:
        if not ipaddress.ip_address(host).is_loopback:
            raise ToolError(f"{s}: only loopback servers may be queried")
    except ValueError:
        raise ToolError(f"{s}: expected IP:PORT")
    return host, int(port)


def dig(server, name, qtype, tcp=False, timeout=3):
    host, port = server
    cmd = ["dig", f"@{host}", "-p", str(port), name, qtype, "+noall", "+comments", "+answer",
           "+authority", "+additional", "+nocookie", f"+time={timeout}", "+tries=1"]
    if tcp:
        cmd.append("+tcp")
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout * 3 + 5)
    return p.returncode, p.stdout + p.stderr


def parse(text, keep_ttl, soa_serial):
    """dig text -> dict(rcode, flags, answer/authority/additional = set of tuples)."""
    res = {"rcode": None, "flags": set(), **{s: set() for s in SECTIONS}}
    section = None
    for line in text.splitlines():
        m = re.search(r"status: ([A-Z]+)", line)
        if m and "->>HEADER<<-" in line:
            res["rcode"] = m.group(1)
            continue
        m = re.match(r";; flags:([^;]*);", line)
        if m:
            res["flags"] = set(m.group(1).split())
            continue
        m = re.match(r";; (ANSWER|AUTHORITY|ADDITIONAL) SECTION:", line)
        if m:
            section = m.group(1).lower()
            continue
        if line.startswith(";") or not line.strip():
            if line.startswith(";; ") and "SECTION" in line:
                section = None
            continue
        if section is None:
            continue
        parts = line.split(None, 4)
        if len(parts) < 4:
            continue
        name, ttl, klass, rtype = parts[0], parts[1], parts[2], parts[3]
        rdata = parts[4] if len(parts) > 4 else ""
        rtype = rtype.upper()
        if rtype == "OPT":
            continue
        if rtype in ("CNAME", "PTR", "NS", "SRV", "SOA", "MX"):
            rdata = rdata.lower()
        if rtype == "SOA" and not soa_serial:
            f = rdata.split()
            if len(f) >= 3:
                f[2] = "<serial>"
                rdata = " ".join(f)
        rr = (name.lower(), klass.upper(), rtype, " ".join(rdata.split()))
        if keep_ttl:
            rr = rr + (ttl,)
        res[section].add(rr)
    if res["rcode"] is None:
        raise ToolError("no DNS header in dig output:\n" + text.strip())
    return res


def load_allow(path):
    entries, comment = [], []
    with open(path) as f:
        for no, raw in enumerate(f, 1):
            line = raw.strip()
            if not line:
                comment = []
                continue
            if line.startswith("#"):
                comment.append(line.lstrip("# "))
                continue
            fields = line.split()
            if len(fields) != 3:
                raise ToolError(f"{path}:{no}: want 'QNAME_GLOB QTYPE WHAT', got {line!r}")
            what = fields[2].lower()
            sec, _, typ = what.partition(":")
            if what not in ("rcode", "aa", "tc") and sec not in SECTIONS:
                raise ToolError(f"{path}:{no}: unknown WHAT {fields[2]!r}")
            if not any(c.strip() for c in comment):
                raise ToolError(f"{path}:{no}: allow-list entry without a justification comment above it")
            entries.append({"glob": fields[0].lower(), "qtype": fields[1].upper(), "what": what,
                            "why": " ".join(comment), "where": f"{path}:{no}", "used": 0})
    return entries


def allowed(entries, qname, qtype, what, rtype=None):
    for e in entries:
        if not fnmatch.fnmatchcase(qname.lower(), e["glob"]):
            continue
        if e["qtype"] not in ("*", qtype.upper()):
            continue
        if e["what"] == what or (rtype and e["what"] == f"{what}:{rtype.lower()}"):
            e["used"] += 1
            return e
    return None


def compare(a, b, qname, qtype, entries):
    """-> (unexplained list, allowed list) of human-readable differences."""
    bad, ok = [], []

    def note(what, msg, rtype=None):
        e = allowed(entries, qname, qtype, what, rtype)
        (ok if e else bad).append(msg + (f"   [allowed by {e['where']}: {e['why']}]" if e else ""))

    if a["rcode"] != b["rcode"]:
        note("rcode", f"rcode {a['rcode']} != {b['rcode']}")
    for flag in ("aa", "tc"):
        if (flag in a["flags"]) != (flag in b["flags"]):
            note(flag, f"flag {flag}: {'set' if flag in a['flags'] else 'clear'} != "
                       f"{'set' if flag in b['flags'] else 'clear'}")
    for s in SECTIONS:
        for rr in sorted(a[s] - b[s]):
            note(s, f"{s}: only A has {' '.join(rr)}", rr[2])
        for rr in sorted(b[s] - a[s]):
            note(s, f"{s}: only B has {' '.join(rr)}", rr[2])
    return bad, ok


def read_queries(path):
    out = []
    with open(path) as f:
        for no, raw in enumerate(f, 1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            fields = line.split()
            if len(fields) != 2:
                raise ToolError(f"{path}:{no}: want 'NAME TYPE', got {line!r}")
            out.append((fields[0], fields[1].upper()))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("a", help="server A, IP:PORT (e.g. ordinal)")
    ap.add_argument("b", help="server B, IP:PORT (e.g. the CoreDNS reference)")
    ap.add_argument("pairs", nargs="*", help="NAME TYPE pairs")
    ap.add_argument("--queries", help="file with NAME TYPE lines")
    ap.add_argument("--allow", help="allow-list file of intentional differences")
    ap.add_argument("--ttl", action="store_true", help="compare TTLs too")
    ap.add_argument("--soa-serial", action="store_true", help="compare SOA serials too")
    ap.add_argument("--tcp", action="store_true", help="query over TCP")
    ap.add_argument("-q", "--quiet", action="store_true", help="print only differences")
    args = ap.parse_intermixed_args()
    try:
        sa, sb = parse_server(args.a), parse_server(args.b)
        if len(args.pairs) % 2:
            raise ToolError("questions must be NAME TYPE pairs")
        queries = list(zip(args.pairs[::2], [t.upper() for t in args.pairs[1::2]]))
        if args.queries:
            queries += read_queries(args.queries)
        if not queries:
            raise ToolError("no questions (give NAME TYPE pairs or --queries FILE)")
        entries = load_allow(args.allow) if args.allow else []
        n_bad = n_allowed = 0
        for qname, qtype in queries:
            res = []
            for srv in (sa, sb):
                rc, text = dig(srv, qname, qtype, args.tcp)
                if rc != 0:
                    raise ToolError(f"dig @{srv[0]} -p {srv[1]} {qname} {qtype} failed (exit {rc}):\n{text.strip()}")
                res.append(parse(text, args.ttl, args.soa_serial))
            bad, ok = compare(res[0], res[1], qname, qtype, entries)
            n_bad += bool(bad)
            n_allowed += bool(ok and not bad)
            tag = "DIFF" if bad else ("ALLOWED" if ok else "SAME")
            if bad or ok or not args.quiet:
                print(f"{tag:7} {qname} {qtype}  (A: {res[0]['rcode']}, B: {res[1]['rcode']})")
            for m in bad:
                print(f"    {m}")
            for m in ok:
                print(f"    {m}")
        unused = [e for e in entries if not e["used"]]
        for e in unused:
            print(f"note: allow-list entry {e['where']} ({e['glob']} {e['qtype']} {e['what']}) matched nothing")
        print(f"compare: {len(queries)} questions, {n_bad} with unexplained differences, "
              f"{n_allowed} with allowed differences only")
        return 1 if n_bad else 0
    except (ToolError, OSError, subprocess.SubprocessError) as e:
        print(f"compare: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
