#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# tests/e2e/tasks.py — what the e2e tests check about tasks, from the
# outside: real processes (read from /proc) against what `shoal service ps`
# says on every agent. Used by the e2e scripts, not run as a test.
#
#   tasks.py procs CLUSTER
#       one line per live task process of that cluster (agents started
#       with --cluster CLUSTER): "PID SERVICE SLOT NODE", from each
#       process's environment (SHOAL_CLUSTER, SHOAL_TASK_ID, SHOAL_SERVICE,
#       SHOAL_SLOT, SHOAL_NODE); zombies are dead and not listed
#   tasks.py check CLUSTER SERVICE N [--not NODE] SOCKET...
#       exit 0 when SERVICE runs exactly once per slot 0..N-1 (N live
#       processes, one per slot), on no NODE given with --not, and every
#       agent's `service ps` lists the N slots running, current, on the
#       node whose process runs it; else exit 1 with the first difference
#   tasks.py env CLUSTER SERVICE KEY=VALUE
#       exit 0 when every live process of SERVICE has KEY=VALUE
#
# SHOAL_BIN must point to the shoal binary.
import json
import os
import subprocess
import sys


def procs(cluster):
    want = "SHOAL_CLUSTER=" + cluster
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                st = f.read()
            if st[st.rindex(")") + 2] == "Z":
                continue
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = f.read().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue
        env = [e.decode(errors="replace") for e in env]
        if want not in env:
            continue
        d = dict(e.split("=", 1) for e in env if "=" in e)
        if "SHOAL_TASK_ID" not in d:
            continue  # an event handler, not a task
        out.append((int(pid), d.get("SHOAL_SERVICE", "?"),
                    int(d.get("SHOAL_SLOT", "-1")), d.get("SHOAL_NODE", "?"),
                    d))
    return out


def ps(sock, service):
    r = subprocess.run([os.environ["SHOAL_BIN"], "service", "ps", service,
                        "--format", "json", "--socket", sock,
                        "--timeout", "3s"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"service ps on {sock}: {r.stderr.strip()}")
    return json.loads(r.stdout)["tasks"]


def check(cluster, service, n, nots, socks):
    mine = [p for p in procs(cluster) if p[1] == service]
    slots = sorted(p[2] for p in mine)
    if slots != list(range(n)):
        return f"processes of {service}: slots {slots}, want 0..{n - 1}"
    where = {p[2]: p[3] for p in mine}
    for p in mine:
        if p[3] in nots:
            return f"{service}.{p[2]} still runs on {p[3]}"
    for sock in socks:
        tasks = ps(sock, service)
        if len(tasks) != n:
            return f"{sock}: {len(tasks)} tasks listed, want {n}"
        for t in tasks:
            s = t["slot"]
            if t["state"] != "running" or not t["current"]:
                return f"{sock}: {service}.{s} is {t['state']}"
            if t["node"] != where.get(s):
                return (f"{sock}: {service}.{s} on {t['node']}, "
                        f"its process on {where.get(s)}")
    return None


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "procs":
        for p in procs(sys.argv[2]):
            print(p[0], p[1], p[2], p[3])
        return 0
    if len(sys.argv) >= 5 and sys.argv[1] == "check":
        args = sys.argv[5:]
        nots = []
        while len(args) >= 2 and args[0] == "--not":
            nots.append(args[1])
            args = args[2:]
        try:
            why = check(sys.argv[2], sys.argv[3], int(sys.argv[4]), nots,
                        args)
        except (RuntimeError, ValueError, KeyError) as e:
            why = str(e)
        if why:
            print(why)
            return 1
        return 0
    if len(sys.argv) == 5 and sys.argv[1] == "env":
        k, v = sys.argv[4].split("=", 1)
        mine = [p for p in procs(sys.argv[2]) if p[1] == sys.argv[3]]
        if not mine:
            print("no process")
            return 1
        for p in mine:
            if p[4].get(k) != v:
                print(f"{sys.argv[3]}.{p[2]}: {k}={p[4].get(k)}")
                return 1
        return 0
    print(__doc__ if __doc__ else "usage: see the header", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
