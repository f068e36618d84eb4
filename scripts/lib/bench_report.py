#!/usr/bin/env python3
"""scripts/lib/bench_report.py — the one table of `make bench`.

    bench_report.py merge BUILD_DIR STATUS_FILE OUT_JSON

merges the parts' JSON fragments (BUILD_DIR/bench-PART.json) into OUT_JSON
(bench-results.json) and prints one table with every figure. STATUS_FILE is
written by scripts/bench: one line per part, tab-separated:
PART, ROW, STATUS (ok | failed | not-yet), SECONDS, MESSAGE.

How a fragment becomes table lines, in order:
  1. a fragment with a "table" list ([{"figure", "value", "target"?}])
     is printed as it says (a part's owner can choose its lines that way);
  2. the parts this file knows (packet, sched, serf) get chosen lines;
  3. anything else: its numeric leaves, named by their keys, with units
     guessed from the key's suffix (_ns, _us, _ms, _s, _bytes, _kb, _mb,
     _per_s), at most MAX_GENERIC lines (the rest is in the JSON).

Row 4 lines (serf_rows) are also used by bench_serf.py for its own output.
"""

import json
import os
import sys
import time

MAX_GENERIC = 24

PARTS = [  # part, row, what
    ("packet", "1", "packet path"),
    ("sim", "2", "simulator"),
    ("sched", "3", "placement"),
    ("serf", "4", "side by side with serf"),
]


# ---- formatting -----------------------------------------------------------


def num(x, digits=3):
    """A number with about `digits` significant digits, thousands split."""
    if x is None:
        return "-"
    if isinstance(x, bool):
        return str(x).lower()
    if isinstance(x, int) or (isinstance(x, float) and x.is_integer() and abs(x) >= 1000):
        return "{:,}".format(int(x))
    ax = abs(x)
    if ax >= 100:
        return "{:,.0f}".format(x)
    if ax >= 10:
        return "%.1f" % x
    if ax >= 1:
        return "%.2f" % x
    if ax == 0:
        return "0"
    return "%.3f" % x


def dur_ns(x):
    if x is None:
        return "-"
    if x >= 1e9:
        return "%s s" % num(x / 1e9)
    if x >= 1e6:
        return "%s ms" % num(x / 1e6)
    if x >= 1e3:
        return "%s us" % num(x / 1e3)
    return "%s ns" % num(x)


def secs(x):
    return "-" if x is None else "%s s" % num(x)


def kb(x):
    if x is None:
        return "-"
    return "%s MB" % num(x / 1024.0) if x >= 1024 else "%s kB" % num(x)


def bps(x):
    if x is None:
        return "-"
    if x >= 1e6:
        return "%s MB/s" % num(x / 1e6)
    if x >= 1e3:
        return "%s kB/s" % num(x / 1e3)
    return "%s B/s" % num(x)


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "-"
    return "%sx" % num(a / float(b))


def line(row, figure, shoal, serf="", r="", target=""):
    return {"row": row, "figure": figure, "shoal": shoal, "serf": serf,
            "ratio": r, "target": target}


def print_table(rows, out):
    head = line("#", "figure", "shoal", "serf", "shoal/serf", "target")
    cols = ["row", "figure", "shoal", "serf", "ratio", "target"]
    w = {c: max(len(str(r[c])) for r in rows + [head]) for c in cols}
    fmt = "  ".join("{%s:%s%d}" % (c, ">" if c in ("shoal", "serf", "ratio") else "<",
                                   w[c]) for c in cols)
    out.write(fmt.format(**head).rstrip() + "\n")
    out.write("  ".join("-" * w[c] for c in cols) + "\n")
    last = None
    for r in rows:
        if last is not None and r["row"] != last:
            out.write("\n")
        last = r["row"]
        out.write(fmt.format(**r).rstrip() + "\n")


# ---- row 1: packet path ------------------------------------------------------


def packet_rows(d):
    rows = []
    b = d.get("datagram_bytes")
    m = d.get("messages")
    what = "%s B datagram, %s msgs" % (b, m) if b else "full datagram"
    rows.append(line("1", "encode + seal, " + what, dur_ns(d.get("encode_seal_ns")),
                     target="<= 2 us"))
    rows.append(line("1", "open + decode, " + what, dur_ns(d.get("open_decode_ns")),
                     target="<= 2 us"))
    rows.append(line("1", "  of which XChaCha20-Poly1305 seal / open",
                     "%s / %s" % (dur_ns(d.get("aead_seal_ns")),
                                  dur_ns(d.get("aead_open_ns")))))
    rows.append(line("1", "  of which msgpack encode / decode",
                     "%s / %s" % (dur_ns(d.get("encode_ns")), dur_ns(d.get("decode_ns")))))
    if "swim_recv_ns" in d:
        rows.append(line("1", "swim_recv of that datagram (known members)",
                         dur_ns(d["swim_recv_ns"])))
    if "merge_insert_ns_1k" in d:
        rows.append(line("1", "push-pull merge per entry, 1,000 (new / known)",
                         "%s / %s" % (dur_ns(d.get("merge_insert_ns_1k")),
                                      dur_ns(d.get("merge_known_ns_1k")))))
    if "merge_insert_ns_big" in d:
        rows.append(line("1", "push-pull merge per entry, %s (new / known)"
                         % num(d.get("merge_big_n")),
                         "%s / %s" % (dur_ns(d.get("merge_insert_ns_big")),
                                      dur_ns(d.get("merge_known_ns_big")))))
    return rows


# ---- row 2: simulator ----------------------------------------------------------


def sim_rows(d):
    rows = []
    runs = d.get("runs")
    if not isinstance(runs, list):
        return generic_rows("2", d)
    dur = d.get("duration", "?")
    for r in runs:
        n = r.get("nodes")
        crypto = "crypto" if r.get("crypto") else "no crypto"
        target = ">= 100x" if n == 1000 else ">= 10x" if n == 10000 else ""
        note = r.get("note")
        rows.append(line("2", "sim %s nodes, %s, %s: wall / speed-up"
                         % (num(n), crypto, dur),
                         "%s / %sx" % (secs(r.get("wall_s")), num(r.get("speedup"))),
                         target=target))
        if note not in (None, "ok"):
            rows.append(line("2", "  " + (note if len(note) <= 58 else note[:55] + "..."),
                             ""))
        rows.append(line("2", "  peak RSS; bytes per member entry (table / RSS)",
                         "%s; %s B / %s B" % (
                             "-" if r.get("peak_rss_mb") is None
                             else "%s MB" % num(r.get("peak_rss_mb")),
                             num(r.get("entry_bytes")), num(r.get("rss_per_entry"))),
                         target="<= 8 GB" if n == 10000 else ""))
        rows.append(line("2", "  crash: first dead / dead everywhere (simulated)",
                         "%s / %s" % (dur_ns(r["first_dead_ms"] * 1e6)
                                      if r.get("first_dead_ms") is not None else "-",
                                      dur_ns(r["dead_everywhere_ms"] * 1e6)
                                      if r.get("dead_everywhere_ms") is not None else "-")))
    sched = d.get("sched") if isinstance(d.get("sched"), dict) else {}
    for r in sched.get("reschedule", []) or []:
        n = r.get("nodes")
        rows.append(line("2", "sim crash -> replicas running elsewhere, %s nodes: "
                         "p50 / p99" % num(n),
                         "%s / %s" % (dur_ns(r["p50_ms"] * 1e6) if r.get("p50_ms") is not None else "-",
                                      dur_ns(r["p99_ms"] * 1e6) if r.get("p99_ms") is not None else "-"),
                         target="p99 <= 10 s" if n == 100 else ""))
        rows.append(line("2", "  detect / decide / inform / start (p50)",
                         " / ".join(dur_ns(r[k] * 1e6) if r.get(k) is not None else "-"
                                    for k in ("detect_p50_ms", "decide_p50_ms",
                                              "inform_p50_ms", "start_p50_ms"))))
    for r in sched.get("failover", []) or []:
        rows.append(line("2", "sim manager failover, %s nodes: p50 / max"
                         % num(r.get("nodes")),
                         "%s / %s" % (dur_ns(r["p50_ms"] * 1e6) if r.get("p50_ms") is not None else "-",
                                      dur_ns(r["max_ms"] * 1e6) if r.get("max_ms") is not None else "-")))
    return rows


# ---- row 3: placement ----------------------------------------------------------


# place_config_default(): ring, 64 points per node, two choices, eps 0.10.
SCHED_DEFAULT = ("ring-64x2", 0.10)


def sched_rows(d):
    rows = []
    res = d.get("results")
    if not isinstance(res, list):
        return generic_rows("3", d)
    nodes, slots = d.get("nodes"), d.get("slots")
    shapes = []
    for r in res:
        if r.get("shape") not in shapes:
            shapes.append(r.get("shape"))
    for shape in shapes:
        mine = [r for r in res if r.get("shape") == shape]
        pick = [r for r in mine if r.get("ranking") == SCHED_DEFAULT[0]
                and abs(float(r.get("eps", 0)) - SCHED_DEFAULT[1]) < 1e-9]
        r = (pick or mine)[0]
        tag = "%s, eps %s" % (r.get("ranking", "?"), r.get("eps", "?"))
        if not rows:
            rows.append(line("3", "placement of %s slots on %s nodes (services x replicas):"
                             % (num(slots), num(nodes)), ""))
        rows.append(line("3", "  %s, %s: placements/s" % (shape, tag),
                         "%s/s" % num(r.get("placements_per_s")), target=">= 1M/s"))
        rows.append(line("3", "    death moved/min; join moved/ideal; peak/mean svc, all",
                         "%s/%s; %s/%s; %s, %s" % (
                             num(r.get("death_moved")), num(r.get("death_min")),
                             num(r.get("join_moved")), num(r.get("join_ideal")),
                             num(r.get("svc_peak_over_mean")),
                             num(r.get("peak_over_mean"))),
                         target="death = min; svc <= ceil(R/N)"))
    if len(res) > len(shapes):
        rows.append(line("3", "(%d other rankings in bench-results.json)"
                         % (len(res) - len(shapes)), ""))
    return rows


# ---- row 4 (and 5): serf ------------------------------------------------------


def serf_rows(d):
    rows = []
    runs = d.get("runs", [])
    sizes = []
    for r in runs:
        if r["n"] not in sizes:
            sizes.append(r["n"])

    def get(system, n):
        for r in runs:
            if r["system"] == system and r["n"] == n:
                return r
        return {}

    def add(fig, key, fmt, target="", key2=None):
        for n in sizes:
            a, b = get("shoal", n), get("serf", n)
            if key2:
                sa = "%s / %s" % (fmt(a.get(key)), fmt(a.get(key2))) if a else "-"
                sb = "%s / %s" % (fmt(b.get(key)), fmt(b.get(key2))) if b else "-"
            else:
                sa = fmt(a.get(key)) if a else "-"
                sb = fmt(b.get(key)) if b else "-"
            for x, s in ((a, "shoal"), (b, "serf")):
                if x and "error" in x and x.get(key) is None:
                    if s == "shoal":
                        sa = "failed"
                    else:
                        sb = "failed"
            rows.append(line("4", fig % n, sa, sb, ratio(a.get(key), b.get(key)),
                             target))

    joins = max([len(r.get("join_trials_s", [])) for r in runs] + [1])
    if joins > 1:
        for r in runs:
            r.setdefault("join_s_median", None)
        add("join: all see all (median of %d), N=%%d" % joins, "join_s_median",
            lambda x: "> 25 s" if x is None else secs(x))
        add("join: all see all, max of %d, N=%%d" % joins, "join_s_max",
            lambda x: "> 25 s" if x is None else secs(x))
    else:
        add("join: all see all, N=%d", "join_s", secs)
    add("RSS per agent, median / max, N=%d", "rss_kb_median", kb,
        "<= 1/5 serf", "rss_kb_max")
    add("  private memory per agent, median / max, N=%d", "private_kb_median", kb,
        "", "private_kb_max")
    add("CPU per agent, mean / max, N=%d", "cpu_ms_per_s_mean",
        lambda x: "-" if x is None else "%s ms/s" % num(x), "", "cpu_ms_per_s_max")
    add("wire per agent, mean / max, N=%d", "wire_bytes_per_s_mean", bps,
        "<= serf, flat in N", "wire_bytes_per_s_max")
    trials = max([len(r.get("crash", [])) for r in runs] + [0])
    med = "median of %d" % trials if trials > 1 else "1 trial"
    add("crash: first suspicion (%s), N=%%d" % med, "first_suspect_s_median", secs)
    add("crash: first failed report (%s), N=%%d" % med, "first_failed_s_median", secs)
    add("crash: all others report failed (%s), N=%%d" % med,
        "all_failed_s_median", secs, "<= serf")
    add("crash: all others report failed, max, N=%d", "all_failed_s_max", secs)
    add("false failure reports during the run, N=%d", "false_failed",
        lambda x: "-" if x is None else str(x), "0")
    fo = d.get("failover") or {}
    if fo.get("status") == "ok":
        for n, f in sorted(fo.get("by_n", {}).items(), key=lambda x: int(x[0])):
            k = len(f.get("trials", []))
            rows.append(line("5", "manager SIGKILL: all name a new one, median / max "
                             "of %d, N=%s" % (k, n),
                             "%s / %s" % (secs(f.get("median_s")),
                                          "> timeout" if f.get("max_s") is None
                                          else secs(f.get("max_s"))),
                             "no manager", "", ""))
            rows.append(line("5", "  first node naming a new one, median, N=%s" % n,
                             secs(f.get("first_median_s"))))
    else:
        rows.append(line("5", "manager failover", "not yet",
                         target=fo.get("short", "needs sched/ in the agent")))
    return rows


# ---- anything else -------------------------------------------------------------


UNITS = [  # suffix, formatter
    ("_ns", dur_ns), ("_us", lambda x: dur_ns(x * 1e3)),
    ("_ms", lambda x: dur_ns(x * 1e6)), ("_s", secs),
    ("_bytes", lambda x: "%s B" % num(x)), ("_kb", kb),
    ("_mb", lambda x: "%s MB" % num(x)), ("_per_s", lambda x: "%s/s" % num(x)),
    ("_x", lambda x: "%sx" % num(x)),
]


def fmt_leaf(key, v):
    for suf, f in UNITS:
        if key.endswith(suf):
            return f(v)
    return num(v)


def leaves(obj, label, out):
    if isinstance(obj, dict):
        names = [str(v) for k, v in obj.items() if isinstance(v, str)
                 and k not in ("machine", "date", "log", "file")]
        for k, v in obj.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                out.append(((label + " " if label else "") + k, k, v))
            elif isinstance(v, (dict, list)):
                sub = k if not names else "%s (%s)" % (k, ", ".join(names))
                leaves(v, (label + " " if label else "") + sub, out)
    elif isinstance(obj, list):
        for k, v in enumerate(obj):
            if isinstance(v, dict):
                names = [str(x) for x in v.values() if isinstance(x, str)]
                nums = ["%s=%s" % (a, b) for a, b in v.items()
                        if a in ("n", "nodes", "N") and isinstance(b, int)]
                tag = ", ".join(names + nums) or str(k)
                leaves({a: b for a, b in v.items() if a not in ("n", "nodes", "N")},
                       "%s[%s]" % (label, tag), out)
            elif isinstance(v, (int, float)) and not isinstance(v, bool):
                out.append(("%s[%d]" % (label, k), label, v))


def generic_rows(row, d):
    out = []
    leaves(d, "", out)
    rows = [line(row, name, fmt_leaf(key, v)) for name, key, v in out[:MAX_GENERIC]]
    if len(out) > MAX_GENERIC:
        rows.append(line(row, "(%d more figures in bench-results.json)"
                         % (len(out) - MAX_GENERIC), ""))
    return rows


def fragment_rows(part, row, d):
    if isinstance(d.get("table"), list):
        return [line(row, str(t.get("figure", "")), str(t.get("value", "")),
                     target=str(t.get("target", ""))) for t in d["table"]]
    if part == "packet":
        return packet_rows(d)
    if part == "sched":
        return sched_rows(d)
    if part == "sim":
        return sim_rows(d)
    if part == "serf":
        return serf_rows(d)
    return generic_rows(row, d)


# ---- merge ---------------------------------------------------------------------


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


def merge(build, status_file, out_json):
    status = {}
    with open(status_file) as f:
        for ln in f:
            p = ln.rstrip("\n").split("\t")
            if len(p) >= 5:
                status[p[0]] = {"row": p[1], "status": p[2],
                                "seconds": float(p[3]) if p[3] else None,
                                "message": p[4]}
    m = machine()
    doc = {"machine": m, "parts": {}}
    rows = []
    for part, row, what in PARTS:
        st = status.get(part, {"row": row, "status": "not-yet", "seconds": None,
                               "message": "not run"})
        entry = dict(st)
        entry["what"] = what
        frag = os.path.join(build, "bench-%s.json" % part)
        d = None
        if st["status"] == "ok" and os.path.exists(frag):
            try:
                with open(frag) as f:
                    d = json.load(f)
            except ValueError as e:
                entry["status"] = "failed"
                entry["message"] = "bad JSON in %s: %s" % (frag, e)
        elif st["status"] == "ok":
            entry["status"] = "failed"
            entry["message"] = "no fragment at %s" % frag
        entry["results"] = d
        doc["parts"][part] = entry
        if d is not None:
            rows += fragment_rows(part, row, d)
            if part == "serf":
                doc["parts"][part]["row5"] = d.get("failover")
        else:
            label = {"not-yet": "not yet", "failed": "could not run"}.get(
                entry["status"], entry["status"])
            rows.append(line(row, "%s: %s" % (what, label), "-",
                             target=entry["message"][:90]))
            if part == "serf":
                rows.append(line("5", "manager failover", "not yet",
                                 target="needs row 4's hosts"))
    tmp = out_json + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=1)
    os.replace(tmp, out_json)
    o = sys.stdout
    o.write("\nshoal make bench — %s; %s CPUs (%s), %s MB, kernel %s; "
            "load average at the end %s\n\n"
            % (m["date"], m["nproc"], m.get("model", "?"),
               m.get("mem_kb", 0) // 1024, m["kernel"], m.get("loadavg", "?")))
    print_table(rows, o)
    o.write("\nparts: %s\n" % "; ".join(
        "%s %s%s" % (p, doc["parts"][p]["status"],
                     " (%s s)" % num(doc["parts"][p]["seconds"])
                     if doc["parts"][p]["seconds"] is not None else "")
        for p, _, _ in PARTS))
    o.write("all figures: %s\n" % out_json)


def main(argv):
    if len(argv) == 5 and argv[1] == "merge":
        merge(argv[2], argv[3], argv[4])
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
