#!/usr/bin/env python3
"""Ask DNS servers the same A questions in a loop until a stop file appears; count rcodes.

    probe.py --stop FILE --interval 0.02 --names NAME,... SERVER_IP:PORT...

Every round asks every server every name (UDP, 1 s timeout). At the end prints one JSON line
per server: {"server", "rounds", "answers": {rcode: n}, "bad": [[t, name, rcode], ...first 20],
"timeouts"} where "bad" is any answer other than NOERROR with at least one A record (the names
are ones that exist for the whole test). Loopback servers only.
"""
import argparse
import json
import os
import random
import socket
import struct
import sys
import time

RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


def ask(sock, server, name):
    qid = random.randint(0, 65535)
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\x00" + struct.pack(">HH", 1, 1)
    sock.sendto(q, server)
    while True:
        msg, _ = sock.recvfrom(4096)
        if struct.unpack(">H", msg[:2])[0] == qid:
            break
    rcode = msg[3] & 0x0F
    ancount = struct.unpack(">H", msg[6:8])[0]
    return RCODES.get(rcode, str(rcode)), ancount


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--stop", required=True)
    ap.add_argument("--interval", type=float, default=0.02)
    ap.add_argument("--names", required=True)
    ap.add_argument("servers", nargs="+")
    a = ap.parse_args()
    names = [n for n in a.names.split(",") if n]
    servers = []
    for s in a.servers:
        host, port = s.rsplit(":", 1)
        if not host.startswith("127."):
            sys.exit(f"probe.py: only loopback servers, not {s}")
        servers.append((host, int(port)))
    stats = {s: {"server": "%s:%d" % s, "rounds": 0, "answers": {}, "bad": [], "nbad": 0, "timeouts": 0} for s in servers}
    t0 = time.time()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(1.0)
        while not os.path.exists(a.stop):
            for s in servers:
                st = stats[s]
                st["rounds"] += 1
                for n in names:
                    try:
                        rcode, an = ask(sock, s, n)
                    except socket.timeout:
                        st["timeouts"] += 1
                        rcode, an = "TIMEOUT", 0
                    st["answers"][rcode] = st["answers"].get(rcode, 0) + 1
                    if rcode != "NOERROR" or an == 0:
                        st["nbad"] += 1
                        if len(st["bad"]) < 20:
                            st["bad"].append([round(time.time() - t0, 3), n, rcode, an])
            time.sleep(a.interval)
    for s in servers:
        print(json.dumps(stats[s]))


if __name__ == "__main__":
    main()
