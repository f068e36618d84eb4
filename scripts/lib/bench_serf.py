#!/usr/bin/env python3
"""scripts/lib/bench_serf.py — row 4 of `make bench`: shoal beside serf.

Called by scripts/bench-serf once the namespaced hosts exist (that script
makes and removes them with scripts/lib/netns.sh); not meant to be run by
hand. For each system (shoal, serf) and each cluster size N it:

  1. starts node 0 (the seed) in host 0 and waits until it runs;
  2. join: starts nodes 1..N-1 at once, each joining through node 0, and
     times until every node has reported every other node alive (from the
     agents' own event logs), then checks it with `members` on every node;
  3. steady state: over a window of exactly one push-pull period P(N)
     (30 s up to 32 nodes, 60 s at 33-64: memberlist's pushPullScale,
     which shoal copies), starting once that system's push-pulls run at
     their steady rate (see steady_window), samples each agent's RSS
     (/proc/PID/status VmRSS; private pages from smaps_rollup), CPU
     (every thread's sum_exec_runtime from schedstat, in ns; utime+stime
     from /proc/PID/stat is kept as a check, it counts 10 ms ticks) and the
     bytes its host sent and received (the host's veth counters in the
     bridge namespace);
  4. crash: SIGKILLs one agent (several trials, one victim each) and times
     the first suspicion, the first failure report and the moment every
     other live node has reported it failed; then checks with `members`.

  5. row 5, shoal only (serf has no manager): shoal's crash victims are
     its managers, each the one every live node names (the agents'
     "manager event" log lines) when it is killed; the same kill also
     times until the first live node names a new manager and until all
     name the same one.

One clock: every log line of every agent is read by this process through
a pipe as it is written and stamped with the host's CLOCK_REALTIME on
arrival (serf's own log stamps have 1 s resolution; shoal's have 1 ms and
are kept as a check of the stamping delay). The kill time is taken from
the same clock just before kill(2).

The agents are started in sessions of their own, so a ^C at the terminal
reaches only this process, which then SIGKILLs every agent it started
(by PID); scripts/bench-serf then kills whatever is left in the namespaces
and deletes them. Every wait is bounded in time.

Output: a JSON fragment (--out) and the row-4 table on stdout.
"""

import argparse
import calendar
import json
import math
import os
import re
import selectors
import signal
import statistics
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_report  # noqa: E402

PORT = 7946
CLK_TCK = os.sysconf("SC_CLK_TCK")

# Event lines. shoal: the agent's structured membership events on stderr
# (logfmt). serf: serf's and memberlist's INFO lines on stdout.
SHOAL_EVENT = re.compile(rb'msg="member event" event=member-([a-z]+) member=(\S+)')
SHOAL_MANAGER = re.compile(rb'msg="manager event" event=manager manager=(\S+) term=(\d+)')
SHOAL_TS = re.compile(rb"^ts=(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\.(\d{3})Z")
SERF_EVENT = re.compile(rb"serf: EventMember(Join|Failed|Leave|Update|Reap)(?: \(forced\))?: (\S+)")
SERF_SUSPECT = re.compile(rb"memberlist: Suspect (\S+) has failed")
SERF_REFUTE = re.compile(rb"memberlist: Refuting a (suspect|dead) message")

KIND = {
    b"join": "alive", b"alive": "alive", b"suspect": "suspect",
    b"failed": "failed", b"leave": "left", b"update": None, b"reap": None,
    b"conflict": None,
    b"Join": "alive", b"Failed": "failed", b"Leave": "left",
    b"Update": None, b"Reap": None,
}


class Interrupted(Exception):
    pass


def on_signal(signum, frame):
    raise Interrupted("signal %d" % signum)


def now():
    return time.time()


def name_of(i):
    return "node-%d" % i


def index_of(name):
    try:
        return int(name.rsplit("-", 1)[1])
    except (IndexError, ValueError):
        return None


class Cluster:
    """N agents of one system, their pipes, and what their logs said."""

    def __init__(self, args, system, n, logpath, trial=1):
        self.a = args
        self.system = system
        self.n = n
        self.trial = trial
        self.procs = {}
        self.sel = selectors.DefaultSelector()
        self.partial = {}
        self.log = open(logpath, "w")
        # view[obs][member] = "alive" | "suspect" | "failed" | "left"
        self.view = [dict() for _ in range(n)]
        self.seen = [0] * n          # other members alive or suspect
        self.complete = 0            # observers with seen == n - 1
        self.converged_at = None
        self.events = []             # (t, observer, kind, member index)
        self.stamp_lag_ms = []       # shoal only: arrival - own stamp
        self.refutes = 0
        self.exited = {}             # i -> (t, returncode)
        self.manager = {}            # shoal: i -> (t, manager name, term)
        self.ready = set()

    # ---- processes -------------------------------------------------------

    def ns(self, i):
        return "%s-%d" % (self.a.tag, i)

    def addr(self, i):
        return "%s.%d.%d" % (self.a.net, i // 250, i % 250 + 1)

    def datadir(self, i):
        return os.path.join(self.a.tmp, "%s-%d-%d-%d" % (self.system, self.n,
                                                         self.trial, i))

    def command(self, i):
        join = i != 0
        seed = "%s:%d" % (self.addr(0), PORT)
        if self.system == "shoal":
            d = self.datadir(i)
            os.makedirs(d, mode=0o700, exist_ok=True)
            cmd = [self.a.shoal, "agent", "--name", name_of(i),
                   "--bind", "%s:%d" % (self.addr(i), PORT),
                   "--key-file", self.a.key_file, "--data-dir", d,
                   "--profile", "lan", "--log-level", "info"]
            if join:
                cmd += ["--join", seed]
        else:
            cmd = ["serf", "agent", "-node=" + name_of(i),
                   "-bind=%s:%d" % (self.addr(i), PORT),
                   "-rpc-addr=127.0.0.1:7373", "-encrypt=" + self.a.key,
                   "-log-level=info"]
            if join:
                cmd += ["-join=" + seed]
        return ["ip", "netns", "exec", self.ns(i)] + cmd

    def spawn(self, i):
        p = subprocess.Popen(self.command(i), stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             start_new_session=True)
        os.set_blocking(p.stdout.fileno(), False)
        self.sel.register(p.stdout, selectors.EVENT_READ, i)
        self.partial[i] = b""
        self.procs[i] = p
        return p

    def kill(self, i):
        p = self.procs.get(i)
        if p and p.poll() is None:
            p.send_signal(signal.SIGKILL)

    def stop_all(self):
        for i in list(self.procs):
            self.kill(i)
        deadline = now() + 10
        for p in self.procs.values():
            try:
                p.wait(timeout=max(0.1, deadline - now()))
            except subprocess.TimeoutExpired:
                pass
        self.pump(0)
        for key in list(self.sel.get_map().values()):
            self.sel.unregister(key.fileobj)
            key.fileobj.close()
        self.log.close()

    def alive_procs(self):
        return [i for i, p in self.procs.items() if p.poll() is None]

    # ---- reading the logs --------------------------------------------------

    def pump(self, timeout):
        """Read whatever the agents wrote, waiting at most timeout s."""
        if not self.sel.get_map():
            time.sleep(max(0, timeout))
            return
        for key, _ in self.sel.select(max(0, timeout)):
            t = now()
            i = key.data
            try:
                data = os.read(key.fileobj.fileno(), 1 << 16)
            except BlockingIOError:
                continue
            if not data:
                self.sel.unregister(key.fileobj)
                key.fileobj.close()
                rc = self.procs[i].wait()
                self.exited[i] = (t, rc)
                self.log.write("%.3f %s <exited rc=%s>\n" % (t, name_of(i), rc))
                continue
            lines = (self.partial[i] + data).split(b"\n")
            self.partial[i] = lines.pop()
            for line in lines:
                self.line(t, i, line)
        self.log.flush()

    def pump_until(self, deadline, pred=lambda: False):
        while not pred():
            left = deadline - now()
            if left <= 0:
                return False
            self.pump(min(left, 0.05))
        return True

    def line(self, t, i, line):
        self.log.write("%.3f %s %s\n" % (t, name_of(i),
                                         line.decode("utf-8", "replace")))
        if self.system == "shoal":
            if b"agent started" in line:
                self.ready.add(i)
            m = SHOAL_MANAGER.search(line)
            if m:
                self.manager[i] = (t, m[1].decode("utf-8", "replace"), int(m[2]))
            m = SHOAL_EVENT.search(line)
            if m:
                ts = SHOAL_TS.match(line)
                if ts:
                    own = calendar.timegm(tuple(int(x) for x in ts.groups()[:6]))
                    self.stamp_lag_ms.append((t - own - int(ts[7]) / 1000) * 1000)
                self.event(t, i, KIND.get(m[1]), m[2])
        else:
            m = SERF_EVENT.search(line)
            if m:
                if m[1] == b"Join" and m[2] == name_of(i).encode():
                    self.ready.add(i)
                self.event(t, i, KIND.get(m[1]), m[2])
                return
            m = SERF_SUSPECT.search(line)
            if m:
                self.event(t, i, "suspect", m[1])
                return
            if SERF_REFUTE.search(line):
                self.refutes += 1

    def event(self, t, obs, kind, member):
        if kind is None:
            return
        j = index_of(member.decode("utf-8", "replace"))
        if j is None or j == obs or j >= self.n:
            return
        self.events.append((t, obs, kind, j))
        v = self.view[obs]
        before = v.get(j)
        if kind == "suspect" and before in ("failed", "left"):
            return   # memberlist logs probes of the dead too
        v[j] = kind
        was = before in ("alive", "suspect")
        is_ = kind in ("alive", "suspect")
        if was != is_:
            old_complete = self.seen[obs] == self.n - 1
            self.seen[obs] += 1 if is_ else -1
            new_complete = self.seen[obs] == self.n - 1
            self.complete += int(new_complete) - int(old_complete)
            if self.complete == self.n and self.converged_at is None:
                self.converged_at = t

    # ---- polling -------------------------------------------------------------

    def members(self, i):
        """{name: status} from node i's own `members`, or None."""
        if self.system == "shoal":
            cmd = [self.a.shoal, "members", "--data-dir", self.datadir(i),
                   "--format", "json", "--timeout", "5s"]
        else:
            cmd = ["ip", "netns", "exec", self.ns(i), "serf", "members",
                   "-rpc-addr=127.0.0.1:7373", "-format=json"]
        try:
            r = subprocess.run(cmd, stdin=subprocess.DEVNULL,
                               capture_output=True, timeout=10)
            doc = json.loads(r.stdout)
            return {m["name"]: m["status"] for m in doc["members"]}
        except (subprocess.TimeoutExpired, ValueError, KeyError, TypeError):
            return None

    def check_members(self, nodes, want):
        """Ask every node in nodes for its member list; count those whose
        list matches want ({name: status}). Pumps the logs in between."""
        good, bad = 0, []
        for i in nodes:
            got = self.members(i)
            self.pump(0)
            if got is not None and all(got.get(k) == s for k, s in want.items()):
                good += 1
            else:
                bad.append((i, got if got is None else
                            {k: got.get(k) for k, s in want.items()
                             if got.get(k) != s}))
        return good, bad

    def shoal_stats(self, nodes):
        tot = {}
        for i in nodes:
            try:
                r = subprocess.run([self.a.shoal, "stats", "--data-dir",
                                    self.datadir(i), "--format", "json",
                                    "--timeout", "5s"],
                                   stdin=subprocess.DEVNULL,
                                   capture_output=True, timeout=10)
                doc = json.loads(r.stdout)
            except (subprocess.TimeoutExpired, ValueError):
                continue
            for k in ("probes", "probe_failed", "probe_indirect", "suspicions",
                      "refutes", "deaths_declared", "pushpulls",
                      "broadcasts_dropped"):
                tot[k] = tot.get(k, 0) + doc.get("stats", {}).get(k, 0)
            tot["drops"] = tot.get("drops", 0) + doc.get("drops", {}).get("total", 0)
            tot["udp_send_errors"] = (tot.get("udp_send_errors", 0) +
                                      doc.get("agent", {}).get("udp_send_errors", 0))
            self.pump(0)
        return tot

    # ---- sampling -----------------------------------------------------------

    def sample(self, nodes):
        """CPU ticks and RSS of each agent, wire counters of each host."""
        s = {"t": now(), "cpu": {}, "cpu_ns": {}, "rss": {}, "priv": {},
             "snmp": {}, "wire": {}}
        for i in nodes:
            pid = self.procs[i].pid
            try:
                with open("/proc/%d/stat" % pid) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                s["cpu"][i] = int(fields[11]) + int(fields[12])
                # The same time in ns: sum_exec_runtime of every thread
                # (utime+stime comes in 10 ms ticks, too coarse for an
                # agent that runs 0.1 ms a second).
                ns = 0
                for tid in os.listdir("/proc/%d/task" % pid):
                    try:
                        with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                            ns += int(f.read().split()[0])
                    except OSError:
                        ns = None  # no schedstat, or a thread just ended
                        break
                if ns is not None:
                    s["cpu_ns"][i] = ns
                with open("/proc/%d/status" % pid) as f:
                    for ln in f:
                        if ln.startswith("VmRSS:"):
                            s["rss"][i] = int(ln.split()[1])
                # Private pages: what this agent alone holds (VmRSS also
                # counts shared libraries in full).
                priv = 0
                with open("/proc/%d/smaps_rollup" % pid) as f:
                    for ln in f:
                        if ln.startswith(("Private_Clean:", "Private_Dirty:")):
                            priv += int(ln.split()[1])
                s["priv"][i] = priv
                # The host's UDP datagrams and TCP connections (this file
                # shows the namespace the agent runs in).
                with open("/proc/%d/net/snmp" % pid) as f:
                    rows = [ln.split() for ln in f]
                snmp = {}
                for head, vals in zip(rows[0::2], rows[1::2]):
                    if head[0] in ("Udp:", "Tcp:"):
                        for k, v in zip(head[1:], vals[1:]):
                            snmp[head[0][0] + k] = int(v)
                s["snmp"][i] = snmp
                exe = os.path.basename(os.readlink("/proc/%d/exe" % pid))
                if exe != os.path.basename(self.a.shoal if self.system == "shoal"
                                           else "serf"):
                    s.setdefault("bad_exe", []).append((i, exe))
            except (OSError, IndexError, ValueError):
                pass
        s["wire"] = wire_counters(self.a.tag)
        return s


def wire_counters(tag):
    """{host index: (bytes, packets)} sent + received by each host, read
    from the host's veth peer in the bridge namespace."""
    out = {}
    try:
        r = subprocess.run(["ip", "-n", tag + "-br", "-s", "-j", "link", "show"],
                           capture_output=True, timeout=10)
        for link in json.loads(r.stdout):
            name = link.get("ifname", "")
            if not re.fullmatch(r"v\d+", name):
                continue
            st = link["stats64"]
            out[int(name[1:])] = (st["rx"]["bytes"] + st["tx"]["bytes"],
                                  st["rx"]["packets"] + st["tx"]["packets"])
    except (subprocess.TimeoutExpired, ValueError, KeyError):
        pass
    return out


def udp_errors(tag, n):
    """Sum over hosts 0..n-1 of UDP InErrors, RcvbufErrors, SndbufErrors
    (each host's /proc/net/snmp: a header line, then a value line)."""
    script = ('for i in $(seq 0 %d); do ip netns exec %s-$i cat /proc/net/snmp '
              '| grep "^Udp:"; done') % (n - 1, tag)
    tot = [0, 0, 0]
    try:
        r = subprocess.run(["bash", "-c", script], capture_output=True,
                           text=True, timeout=60)
        lines = [ln.split()[1:] for ln in r.stdout.splitlines()]
        for head, vals in zip(lines[0::2], lines[1::2]):
            d = dict(zip(head, (int(x) for x in vals)))
            tot[0] += d.get("InErrors", 0)
            tot[1] += d.get("RcvbufErrors", 0)
            tot[2] += d.get("SndbufErrors", 0)
    except (subprocess.TimeoutExpired, ValueError):
        pass
    return tot


def softnet_dropped():
    tot = 0
    try:
        with open("/proc/net/softnet_stat") as f:
            for ln in f:
                tot += int(ln.split()[1], 16)
    except (OSError, IndexError, ValueError):
        pass
    return tot


def med(xs):
    return statistics.median(xs) if xs else None


def rnd(x, k=3):
    return None if x is None else round(x, k)


# ---- one run ------------------------------------------------------------------


def start_cluster(c, res, timeout):
    """Start the seed, wait until it runs, then start everyone else at once.
    Returns (seed start time, join start time) or None with res["error"]
    set. Afterwards c.converged_at says when every node saw every node."""
    n = c.n
    t_seed = now()
    c.spawn(0)
    if not c.pump_until(t_seed + 15, lambda: 0 in c.ready or 0 in c.exited):
        res["error"] = "the seed did not start within 15 s"
        return None
    if 0 in c.exited:
        res["error"] = "the seed exited (rc %s); see %s" % (c.exited[0][1],
                                                          c.log.name)
        return None
    t0 = now()
    for i in range(1, n):
        c.spawn(i)
    res.setdefault("spawn_s", rnd(now() - t0))
    c.pump_until(t0 + timeout, lambda: c.converged_at is not None)
    if c.exited:
        res["notes"].append("agents exited during join: %s" %
                            sorted(name_of(i) for i in c.exited))
    return t_seed, t0


def agreed_manager(c, nodes):
    """The manager every node in nodes names, or None."""
    names = {c.manager.get(i, (0, None, 0))[1] for i in nodes}
    if len(names) == 1:
        name = names.pop()
        if name not in (None, "-"):
            return name
    return None


def wait_manager(c, live, res, k):
    """The manager every live node names (waiting up to 15 s), or None."""
    if c.pump_until(now() + 15, lambda: agreed_manager(c, live) is not None):
        return agreed_manager(c, live)
    res["notes"].append("failover %d: the live nodes named no single manager "
                        "within 15 s; killed another node" % (k + 1))
    return None


def new_manager_everywhere(c, others, old, tk):
    m = agreed_manager(c, others)
    return m is not None and m != old and all(c.manager[i][0] >= tk
                                              for i in others)


def failover_figures(c, others, old, tk, res, args):
    """Row 5 (shoal only; serf elects no manager): after the manager was
    killed at tk, when the first live node named a new one and when every
    live node named the same new one."""
    ok = new_manager_everywhere(c, others, old, tk)
    firsts = [c.manager[i][0] for i in others
              if i in c.manager and c.manager[i][0] >= tk
              and c.manager[i][1] not in ("-", old)]
    if not ok:
        res["notes"].append("failover of %s: not every node named one new "
                            "manager within %d s" % (old, args.crash_timeout))
    return {"old": old, "new": agreed_manager(c, others) if ok else None,
            "first_s": rnd(min(firsts) - tk) if firsts else None,
            "all_s": rnd(max(c.manager[i][0] for i in others) - tk) if ok else None}


def join_trials(args, system, n, res, say):
    """More join trials on fresh clusters (a join's time varies from run to
    run: a lost rumour waits for the next push-pull)."""
    for k in range(2, args.joins + 1):
        logpath = os.path.join(args.logdir, "%s-%d-join%d.log" % (system, n, k))
        c = Cluster(args, system, n, logpath, trial=k)
        try:
            r = {"notes": []}
            ts = start_cluster(c, r, args.join_trial_timeout)
            if ts is None:
                res["notes"].append("join trial %d: %s" % (k, r["error"]))
                continue
            j = rnd(c.converged_at - ts[1]) if c.converged_at else None
            res["join_trials_s"].append(j)
            if j is None:
                res["notes"].append("join trial %d: %d of %d nodes saw everyone "
                                    "after %d s" % (k, c.complete, n,
                                                    args.join_trial_timeout))
            res["notes"] += r["notes"]
            say("  %s N=%d: join trial %d: %s" % (
                system, n, k, "%.2f s" % j if j is not None else
                "not converged in %d s" % args.join_trial_timeout))
        finally:
            c.stop_all()
    js = res["join_trials_s"]
    ok = [j for j in js if j is not None]
    # A trial that did not converge counts as longer than any that did.
    if len(ok) * 2 > len(js):
        res["join_s_median"] = rnd(sorted(js, key=lambda x: (x is None, x or 0))
                                   [(len(js) - 1) // 2])
    res["join_s_max"] = rnd(max(ok)) if len(ok) == len(js) else None
    res["join_not_converged"] = len(js) - len(ok)


def run_one(args, system, n, say):
    logpath = os.path.join(args.logdir, "%s-%d.log" % (system, n))
    res = {"system": system, "n": n, "log": logpath, "notes": [],
           "join_trials_s": []}
    c = Cluster(args, system, n, logpath)
    udp0 = udp_errors(args.tag, n)
    soft0 = softnet_dropped()
    try:
        # 1, 2. the seed, then everyone else at once
        ts = start_cluster(c, res, args.join_timeout)
        if ts is None:
            return res
        t_seed, t0 = ts
        if c.converged_at is None:
            # A lost join rumour waits for a push-pull (up to 90 s in
            # serf at N = 50): count the trial as longer than the bound and
            # measure the rest all the same.
            if len(c.alive_procs()) < n:
                res["error"] = "agents exited during the join"
                return res
            res["join_s"] = None
            res["notes"].append("join: %d of %d nodes saw everyone after %d s; "
                                "counted as longer" % (c.complete, n,
                                                       args.join_timeout))
            say("  %s N=%d: not joined after %d s (%d of %d nodes saw everyone)"
                % (system, n, args.join_timeout, c.complete, n))
        else:
            res["join_s"] = rnd(c.converged_at - t0)
            say("  %s N=%d: joined in %.2f s" % (system, n, res["join_s"]))
        res["join_trials_s"].append(res["join_s"])
        want = {name_of(j): "alive" for j in range(n)}
        good, bad = c.check_members(range(n), want)
        res["join_members_ok"] = good
        if bad:
            res["notes"].append("after join, %d node(s) listed others as not "
                                "alive: %s" % (len(bad), bad[:3]))
        # 3. steady state
        start, length = steady_window(args, system, n)
        c.pump_until(max(now() + args.settle, t_seed + start))
        nodes = list(range(n))
        s0 = c.sample(nodes)
        c.pump_until(s0["t"] + length)
        s1 = c.sample(nodes)
        dt = s1["t"] - s0["t"]
        ticks = [(s1["cpu"][i] - s0["cpu"][i]) * 1000.0 / CLK_TCK / dt
                 for i in nodes if i in s0["cpu"] and i in s1["cpu"]]
        cpu = [(s1["cpu_ns"][i] - s0["cpu_ns"][i]) / 1e6 / dt
               for i in nodes if i in s0["cpu_ns"] and i in s1["cpu_ns"]]
        if len(cpu) < len(ticks):
            cpu = ticks
            res["notes"].append("CPU from utime+stime (10 ms ticks): no "
                                "schedstat for every agent")
        rss = [s1["rss"][i] for i in nodes if i in s1["rss"]]
        wire = [(s1["wire"][i][0] - s0["wire"][i][0]) / dt
                for i in nodes if i in s0["wire"] and i in s1["wire"]]
        pkts = [(s1["wire"][i][1] - s0["wire"][i][1]) / dt
                for i in nodes if i in s0["wire"] and i in s1["wire"]]
        if s1.get("bad_exe"):
            res["notes"].append("unexpected executables: %s" % s1["bad_exe"])
        res["window_s"] = rnd(dt, 2)
        res["window_from_s"] = rnd(s0["t"] - t_seed, 2)
        res["samples"] = {"cpu": len(cpu), "rss": len(rss), "wire": len(wire)}
        res["rss_kb_median"] = med(rss)
        res["rss_kb_max"] = max(rss) if rss else None
        priv = [s1["priv"][i] for i in nodes if i in s1["priv"]]
        res["private_kb_median"] = med(priv)
        res["private_kb_max"] = max(priv) if priv else None
        res["cpu_ms_per_s_mean"] = rnd(sum(cpu) / len(cpu)) if cpu else None
        res["cpu_ms_per_s_median"] = rnd(med(cpu))
        res["cpu_ms_per_s_max"] = rnd(max(cpu)) if cpu else None
        res["cpu_stat_ms_per_s_mean"] = rnd(sum(ticks) / len(ticks)) if ticks else None
        res["wire_bytes_per_s_mean"] = rnd(sum(wire) / len(wire), 1) if wire else None
        res["wire_bytes_per_s_median"] = rnd(med(wire), 1)
        res["wire_bytes_per_s_max"] = rnd(max(wire), 1) if wire else None
        for key, what in (("UOutDatagrams", "udp_out_per_s"),
                          ("UInDatagrams", "udp_in_per_s"),
                          ("TActiveOpens", "tcp_opens_per_s")):
            xs = [(s1["snmp"][i][key] - s0["snmp"][i][key]) / dt for i in nodes
                  if i in s0["snmp"] and i in s1["snmp"]]
            res[what + "_mean"] = rnd(sum(xs) / len(xs), 3) if xs else None
        res["wire_pkts_per_s_mean"] = rnd(sum(pkts) / len(pkts), 2) if pkts else None
        steady_from = s0["t"]
        steady_to = s1["t"]
        say("  %s N=%d: steady %.0f s: RSS %s kB, CPU %.2f ms/s, wire %.0f B/s "
            "per agent" % (system, n, dt, res["rss_kb_median"],
                           res["cpu_ms_per_s_mean"] or 0,
                           res["wire_bytes_per_s_mean"] or 0))
        # 4. crashes
        trials = []
        dead = set()
        failovers = []
        for k in range(args.trials):
            # shoal's first victims are its managers: one kill gives the
            # crash figures and the failover (row 5) at once.
            old = None
            if system == "shoal" and k < args.failovers:
                old = wait_manager(c, [i for i in range(n) if i not in dead],
                                   res, k)
            v = index_of(old) if old else None
            if v is None or v in dead or v not in c.procs:
                old = None
                v = max([i for i in range(1, n) if i not in dead], default=0)
            if v <= 0:
                break
            others = [i for i in range(n) if i != v and i not in dead]
            first = len(c.events)
            tk = now()
            c.kill(v)
            dead.add(v)

            def all_failed():
                got = set()
                for (t, o, kind, j) in c.events[first:]:
                    if j == v and kind in ("failed", "left"):
                        got.add(o)
                return all(o in got for o in others)

            def done():
                return all_failed() and (old is None or
                                         new_manager_everywhere(c, others, old, tk))

            ok = c.pump_until(tk + args.crash_timeout, done)
            ok = all_failed()
            if old is not None:
                failovers.append(failover_figures(c, others, old, tk, res, args))
                fo = failovers[-1]
                say("  %s N=%d: manager %s killed: first node with a new manager "
                    "%s s, all %s s (%s)" % (system, n, old, fo["first_s"],
                                             fo["all_s"], fo["new"]))
            tr = {"victim": name_of(v), "was_manager": old is not None}
            fs = [t for (t, o, kind, j) in c.events[first:]
                  if j == v and kind == "suspect"]
            ff = {}
            for (t, o, kind, j) in c.events[first:]:
                if j == v and kind in ("failed", "left") and o not in ff:
                    ff[o] = t
            tr["first_suspect_s"] = rnd(min(fs) - tk) if fs else None
            tr["first_failed_s"] = rnd(min(ff.values()) - tk) if ff else None
            tr["all_failed_s"] = rnd(max(ff[o] for o in others) - tk) if ok else None
            tr["reported_by"] = sum(1 for o in others if o in ff)
            tr["of"] = len(others)
            trials.append(tr)
            say("  %s N=%d: crash %s: first suspect %s s, first failed %s s, "
                "all %s s" % (system, n, tr["victim"], tr["first_suspect_s"],
                              tr["first_failed_s"], tr["all_failed_s"]))
            if not ok:
                res["notes"].append("crash of %s: only %d of %d nodes reported "
                                    "it failed within %d s" %
                                    (tr["victim"], tr["reported_by"],
                                     len(others), args.crash_timeout))
            c.pump_until(now() + args.gap)
        res["crash"] = trials
        if failovers:
            xs = [f["all_s"] for f in failovers if f["all_s"] is not None]
            res["failover"] = {
                "trials": failovers, "median_s": rnd(med(xs)),
                "max_s": rnd(max(xs)) if xs and len(xs) == len(failovers) else None,
                "first_median_s": rnd(med([f["first_s"] for f in failovers
                                           if f["first_s"] is not None]))}
        for key in ("first_suspect_s", "first_failed_s", "all_failed_s"):
            xs = [tr[key] for tr in trials if tr[key] is not None]
            res[key + "_median"] = rnd(med(xs))
            res[key + "_max"] = rnd(max(xs)) if xs else None
        live = [i for i in range(n) if i not in dead]
        want = {name_of(j): "failed" for j in dead}
        good, bad = c.check_members(live, want)
        res["crash_members_ok"] = good
        res["crash_members_of"] = len(live)
        if bad:
            res["notes"].append("after the crashes, %d node(s) did not list "
                                "the victims as failed: %s" % (len(bad), bad[:3]))
        # Health of the run: false failure reports, suspicions of live nodes.
        false_failed = [(t, o, j) for (t, o, kind, j) in c.events
                        if kind == "failed" and j not in dead]
        false_suspect = [(t, o, j) for (t, o, kind, j) in c.events
                         if kind == "suspect" and j not in dead]
        res["false_failed"] = len(false_failed)
        res["false_suspect"] = len(false_suspect)
        res["false_suspect_steady"] = sum(1 for (t, o, j) in false_suspect
                                          if steady_from <= t <= steady_to)
        if system == "shoal":
            res["shoal_stats"] = c.shoal_stats(live)
            if c.stamp_lag_ms:
                lag = sorted(c.stamp_lag_ms)
                res["stamp_lag_ms_median"] = rnd(med(lag), 2)
                res["stamp_lag_ms_max"] = rnd(lag[-1], 2)
        else:
            res["refutes"] = c.refutes
        if c.exited and set(c.exited) - dead:
            res["notes"].append("agents exited on their own: %s" % sorted(
                name_of(i) for i in set(c.exited) - dead))
    finally:
        c.stop_all()
        udp1 = udp_errors(args.tag, n)
        res["udp_errors"] = dict(zip(("in", "rcvbuf", "sndbuf"),
                                     (b - a for a, b in zip(udp0, udp1))))
        res["softnet_dropped"] = softnet_dropped() - soft0
        if any(res["udp_errors"].values()) or res["softnet_dropped"]:
            res["notes"].append("packets lost in the kernel: UDP %s, softnet %d"
                                % (res["udp_errors"], res["softnet_dropped"]))
    if "error" not in res:
        join_trials(args, system, n, res, say)
    return res


def pushpull_period_s(n):
    """memberlist's pushPullScale of the 30 s lan interval (shoal's too)."""
    if n <= 32:
        return 30.0
    return 30.0 * (math.ceil(math.log2(n) - math.log2(32)) + 1)


def steady_window(args, system, n):
    """(start after the seed started, length) of the steady-state window.

    Push-pull is the one periodic exchange whose phase matters: an agent
    does one every P(N) seconds, but not from the start. shoal's first is at
    15-45 s (interval/2 plus a random part of the 30 s interval, see
    swim_init), memberlist's at a random 0-30 s stagger plus one scaled
    interval (30-60 s at N <= 32, 60-90 s at N = 50; pushPullTrigger).
    A window of exactly P(N) seconds holds exactly one push-pull of every
    agent once it starts later than (latest first push-pull - P): for shoal
    after 15 s at N <= 32 and at once at N = 50, for serf after 30 s. So
    each system's window starts at that point (or 5 s after convergence if
    later) and lasts P(N); neither system is charged for more or fewer
    exchanges than it makes in the long run. --window and --regime override
    length and start (quick runs), at the price of that exactness."""
    period = pushpull_period_s(n)
    length = args.window if args.window > 0 else period
    if args.regime >= 0:
        return args.regime, length
    first_max = 45.0 if system == "shoal" else 30.0 + period
    return max(0.0, first_max - period + 1), length


def failover(doc):
    """Row 5 in the fragment: the shoal runs' manager failovers."""
    by_n = {}
    for r in doc["runs"]:
        if r["system"] == "shoal" and r.get("failover", {}).get("trials"):
            by_n[str(r["n"])] = r["failover"]
    if not by_n:
        return {"status": "not yet", "short": "no failover measured",
                "why": "no shoal run named a manager (see the notes)"}
    return {"status": "ok", "by_n": by_n,
            "what": "SIGKILL of the manager every node names -> every live "
                    "node names one new manager (serf has no manager)"}


def machine():
    m = {"nproc": os.cpu_count(), "kernel": os.uname().release,
         "date": time.strftime("%Y-%m-%d %H:%M:%S %Z")}
    try:
        with open("/proc/cpuinfo") as f:
            for ln in f:
                if ln.startswith("model name"):
                    m["model"] = ln.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            m["mem_kb"] = int(f.readline().split()[1])
        with open("/proc/loadavg") as f:
            m["loadavg"] = " ".join(f.read().split()[:3])
    except (OSError, ValueError, IndexError):
        pass
    return m


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shoal", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--key-file", required=True)
    ap.add_argument("--tmp", required=True)
    ap.add_argument("--tag", required=True)
    ap.add_argument("--net", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--logdir", required=True)
    ap.add_argument("--sizes", default="20,50")
    ap.add_argument("--systems", default="shoal,serf")
    ap.add_argument("--window", type=float, default=0,
                    help="steady-state window, s (0: one push-pull period)")
    ap.add_argument("--regime", type=float, default=-1,
                    help="earliest window start after the seed started, s "
                         "(-1: when the system's push-pulls are periodic)")
    ap.add_argument("--settle", type=float, default=5)
    ap.add_argument("--trials", type=int, default=3)
    ap.add_argument("--gap", type=float, default=1)
    ap.add_argument("--failovers", type=int, default=3,
                    help="how many of shoal's crash victims are its managers "
                         "(row 5)")
    ap.add_argument("--join-timeout", type=int, default=25)
    ap.add_argument("--joins", type=int, default=3,
                    help="join trials (the first is the main run's)")
    ap.add_argument("--join-trial-timeout", type=int, default=25)
    ap.add_argument("--crash-timeout", type=int, default=60)
    args = ap.parse_args()
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    os.makedirs(args.logdir, exist_ok=True)

    def say(s):
        print(s, flush=True)

    serf_version = subprocess.run(["serf", "version"], capture_output=True,
                                  text=True).stdout.splitlines()
    shoal_version = subprocess.run([args.shoal, "version"], capture_output=True,
                                   text=True).stdout.strip()
    doc = {"machine": machine(),
           "versions": {"serf": serf_version[0] if serf_version else None,
                        "shoal": shoal_version},
           "settings": {"profile": "lan (memberlist DefaultLANConfig)",
                        "window_s": args.window or "one push-pull period",
                        "window_start_s": args.regime if args.regime >= 0
                        else "when push-pulls are periodic (steady_window)",
                        "settle_s": args.settle,
                        "crash_trials": args.trials,
                        "join": "node 0 first; then nodes 1..N-1 at once, "
                                "each joining through node 0",
                        "wire": "bytes sent + received by each host's veth "
                                "(Ethernet frames), per agent per second",
                        "cpu": "utime+stime of the agent process",
                        "clock": "one clock: the host's, log lines stamped "
                                 "on arrival through a pipe"},
           "runs": []}
    t_all = now()
    try:
        for n in [int(x) for x in args.sizes.split(",") if x]:
            for system in [x for x in args.systems.split(",") if x]:
                t = now()
                r = run_one(args, system, n, say)
                r["seconds"] = rnd(now() - t, 1)
                if "error" in r:
                    say("  %s N=%d: %s" % (system, n, r["error"]))
                doc["runs"].append(r)
    except Interrupted as e:
        doc["interrupted"] = str(e)
        say("bench-serf: interrupted; stopped every agent")
    doc["failover"] = failover(doc)
    doc["seconds"] = rnd(now() - t_all, 1)
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=1)
    os.replace(tmp, args.out)
    print()
    bench_report.print_table(bench_report.serf_rows(doc), sys.stdout)
    for r in doc["runs"]:
        for note in r.get("notes", []):
            print("  note (%s N=%d): %s" % (r["system"], r["n"], note))
    return 130 if "interrupted" in doc else 0


if __name__ == "__main__":
    sys.exit(main())
