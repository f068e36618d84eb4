/* SPDX-License-Identifier: MIT */
/*
 * sim/report.c — the summary table, JSON, CSV and SVG of a run.
 *
 * Everything here reads a finished (or paused) sim; nothing feeds back.
 * The SVG plots are drawn by hand: a frame, "nice" ticks (1, 2, 5 x 10^k),
 * one polyline per series and a legend; that is all a reader needs to see
 * a view converge or a detection CDF, and it keeps shoal free of plotting
 * libraries. The JSON is flat on purpose: one key per metric, named as in
 * `expect` lines, so scripts/bench-sim can pick fields with jq.
 *
 * JSON has no infinity: a metric that is "never" (a crash never detected
 * everywhere) is written as null and its name is listed in "never"; a
 * metric with no data at all (no crash happened) is null and not listed.
 */
#include "sim/report.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "core/err.h"
#include "sim/engine.h"
#include "sim/metrics.h"
#include "sim/scenario.h"
#include "sim/sched.h"
#include "sim/sim.h"

/* ---- outcome --------------------------------------------------------------
 */

int
sim_outcome_eval(struct sim_outcome *o, const struct sim *s, const double *v)
{
	const struct sim_scenario *sc = sim_scenario_of(s);

	memset(o, 0, sizeof(*o));
	o->n = sc->nexpects;
	o->got = calloc(o->n + 1, sizeof(double));
	o->pass = calloc(o->n + 1, sizeof(bool));
	if (!o->got || !o->pass)
		return ERR_NOMEM;
	for (uint32_t e = 0; e < o->n; e++) {
		const struct sim_expect *x = &sc->expects[e];
		double got = NAN;

		if (x->at_us == UINT64_MAX)
			got = v[x->metric];
		else if (!sim_expect_result(s, e, &got))
			got = NAN; /* its time never came */
		o->got[e] = got;
		o->pass[e] = sim_expect_check(x->op, got, x->value);
		if (!o->pass[e])
			o->failed++;
	}
	o->trace = sim_trace_hash(s);
	return 0;
}

void
sim_outcome_release(struct sim_outcome *o)
{
	free(o->got);
	free(o->pass);
	o->got = NULL;
	o->pass = NULL;
}

/* ---- formatting ------------------------------------------------------------
 */

void
sim_format_value(char *out, size_t cap, int metric, double v)
{
	const struct sim_metric_info *mi = sim_metric_info(metric);

	if (isnan(v)) {
		snprintf(out, cap, "-");
		return;
	}
	if (isinf(v)) {
		snprintf(out, cap, "never");
		return;
	}
	switch (mi ? mi->unit : SIM_U_COUNT) {
	case SIM_U_MS:
		if (v < 1000)
			snprintf(out, cap, "%.0fms", v);
		else
			snprintf(out, cap, "%.2fs", v / 1000);
		break;
	case SIM_U_ROUNDS:
		snprintf(out, cap, "%.1f", v);
		break;
	case SIM_U_RATE:
		if (v >= 10000)
			snprintf(out, cap, "%.1fk", v / 1000);
		else
			snprintf(out, cap, "%.1f", v);
		break;
	case SIM_U_BYTES:
		if (v >= 10 * 1024 * 1024)
			snprintf(out, cap, "%.1f MB", v / 1048576);
		else if (v >= 10 * 1024)
			snprintf(out, cap, "%.1f KB", v / 1024);
		else
			snprintf(out, cap, "%.0f B", v);
		break;
	case SIM_U_MB:
		snprintf(out, cap, "%.0f MB", v);
		break;
	case SIM_U_SECONDS:
		snprintf(out, cap, "%.2fs", v);
		break;
	case SIM_U_RATIO:
		snprintf(out, cap, "%.1fx", v);
		break;
	default:
		snprintf(out, cap, "%.0f", v);
		break;
	}
}

/* ---- table -----------------------------------------------------------------
 */

/* Up to eight formatted values alive at once, for one fprintf. */
struct fbuf {
	char b[8][32];
	unsigned k;
};

static const char *
fmtv(struct fbuf *fb, int m, const double *v)
{
	char *out = fb->b[fb->k++ % 8];

	sim_format_value(out, sizeof(fb->b[0]), m, v[m]);
	return out;
}

#define F(m) fmtv(&fb, (m), v)

static void
row4(FILE *f, const char *label, int base, const double *v)
{
	struct fbuf fb = {.k = 0};

	fprintf(f, "  %-18s p50 %-9s p99 %-9s max %-9s mean %s\n", label,
		F(base), F(base + 1), F(base + 2), F(base + 3));
}

/* The scheduler's part of the table: only what the run had. */
static void
report_sched(FILE *f, const double *v)
{
	struct fbuf fb = {.k = 0};

	if (v[SIM_M_LEADERS_MAX] > 0 || v[SIM_M_MANAGERS] > 0 ||
	    v[SIM_M_FAILOVERS] > 0) {
		fprintf(f,
			"managers           named now %s (max %s), acting now "
			"%s "
			"(max %s), naming none %s\n",
			F(SIM_M_MANAGERS), F(SIM_M_MANAGERS_MAX),
			F(SIM_M_LEADERS), F(SIM_M_LEADERS_MAX),
			F(SIM_M_NO_MANAGER));
		fprintf(f,
			"                   without a majority: acting %s, "
			"decisions %s\n",
			F(SIM_M_MINORITY_LEADING), F(SIM_M_MINORITY_DECISIONS));
	}
	if (v[SIM_M_FAILOVERS] > 0) {
		fprintf(f,
			"failovers          %s (incomplete %s, worst over "
			"detection %s)\n",
			F(SIM_M_FAILOVERS), F(SIM_M_FAILOVERS_INCOMPLETE),
			F(SIM_M_FAILOVER_RATIO_MAX));
		row4(f, "new manager", SIM_M_FAILOVER_P50, v);
	}
	if (isnan(v[SIM_M_SERVICES]))
		return;
	fprintf(f,
		"services           %s live; replicas desired %s, running %s "
		"(missing %s, never ran %s), processes %s\n",
		F(SIM_M_SERVICES), F(SIM_M_REPLICAS_DESIRED),
		F(SIM_M_REPLICAS_RUNNING), F(SIM_M_REPLICAS_MISSING),
		F(SIM_M_NEVER_RAN), F(SIM_M_PROCESSES));
	fprintf(f,
		"                   converged at %s; slot tables %s; "
		"misplaced %s; on drained nodes %s; changes refused %s\n",
		F(SIM_M_REPLICAS_CONVERGED_AT), F(SIM_M_SLOT_VIEWS),
		F(SIM_M_MISPLACED), F(SIM_M_DRAINED_RUNNING),
		F(SIM_M_CHANGES_REFUSED));
	fprintf(f,
		"running twice      %s times (unexcused %s, now %s, longest "
		"%s)\n",
		F(SIM_M_DOUBLED), F(SIM_M_DOUBLED_UNEXCUSED),
		F(SIM_M_DOUBLED_NOW), F(SIM_M_DOUBLED_LONGEST));
	fprintf(f, "running nowhere    %s times (longest %s)\n", F(SIM_M_GAPS),
		F(SIM_M_GAP_LONGEST));
	if (v[SIM_M_RESCHEDULES] > 0) {
		fprintf(f, "reschedules        %s crashes (incomplete %s)\n",
			F(SIM_M_RESCHEDULES), F(SIM_M_RESCHEDULES_INCOMPLETE));
		row4(f, "crash->running", SIM_M_RESCHEDULE_P50, v);
		row4(f, "  detect", SIM_M_RESCHED_DETECT_P50, v);
		row4(f, "  decide", SIM_M_RESCHED_DECIDE_P50, v);
		row4(f, "  inform", SIM_M_RESCHED_INFORM_P50, v);
		row4(f, "  start", SIM_M_RESCHED_START_P50, v);
	}
	if (v[SIM_M_TASK_CRASHES] > 0 || v[SIM_M_TASK_REJECTED] > 0 ||
	    v[SIM_M_TASK_RESTARTS] > 0) {
		fprintf(f,
			"tasks              crashed %s, restarted %s, failed "
			"to "
			"start %s\n",
			F(SIM_M_TASK_CRASHES), F(SIM_M_TASK_RESTARTS),
			F(SIM_M_TASK_REJECTED));
		if (!isnan(v[SIM_M_TASK_RECOVERY_P50]))
			row4(f, "recovery", SIM_M_TASK_RECOVERY_P50, v);
	}
	if (v[SIM_M_ROLLOUTS] > 0)
		fprintf(f,
			"rollouts           %s (incomplete %s, longest %s)\n",
			F(SIM_M_ROLLOUTS), F(SIM_M_ROLLOUTS_INCOMPLETE),
			F(SIM_M_ROLLOUT_MAX));
}

void
sim_report_table(FILE *f, const struct sim *s, const double *v,
		 const struct sim_outcome *o)
{
	const struct sim_scenario *sc = sim_scenario_of(s);
	struct fbuf fb = {.k = 0};
	char a[32];

	fprintf(f,
		"shoal-sim: %s%s%u nodes, seed %" PRIu64
		", profile %s, crypto %s\n",
		sc->title[0] ? sc->title : "", sc->title[0] ? " — " : "",
		sc->nodes, sc->seed, sc->prof.name, sc->crypto ? "on" : "off");
	fprintf(f,
		"  simulated %.0fs in %.2fs wall (%.1fx), %" PRIu64
		" events, trace %016" PRIx64 "\n",
		(double)sim_now_us(s) / 1e6, v[SIM_M_WALL_S], v[SIM_M_SPEEDUP],
		sim_events(s), o ? o->trace : sim_trace_hash(s));
	if (v[SIM_M_CRASHES] > 0) {
		fprintf(f,
			"crashes            %s (detected everywhere %s, "
			"never %s)\n",
			F(SIM_M_CRASHES), F(SIM_M_DETECTED),
			F(SIM_M_UNDETECTED));
		row4(f, "first suspicion", SIM_M_FIRST_SUSPECT_P50, v);
		row4(f, "first dead", SIM_M_FIRST_DEAD_P50, v);
		row4(f, "dead everywhere", SIM_M_DEAD_EVERYWHERE_P50, v);
		row4(f, "dead spread", SIM_M_DEAD_SPREAD_P50, v);
	}
	fprintf(f,
		"false alarms       suspect %s (any %s)   dead %s (any %s)\n",
		F(SIM_M_FALSE_SUSPECT), F(SIM_M_FALSE_SUSPECT_ANY),
		F(SIM_M_FALSE_DEAD), F(SIM_M_FALSE_DEAD_ANY));
	if (v[SIM_M_LEAVES] > 0) {
		fprintf(f,
			"leaves             %s (incomplete %s, reported "
			"failed %s)\n",
			F(SIM_M_LEAVES), F(SIM_M_LEAVES_INCOMPLETE),
			F(SIM_M_LEFT_AS_FAILED));
		row4(f, "left everywhere", SIM_M_LEFT_EVERYWHERE_P50, v);
	}
	fprintf(f, "joins              %s (incomplete %s, join failed %s)\n",
		F(SIM_M_JOINS), F(SIM_M_JOINS_INCOMPLETE),
		F(SIM_M_JOIN_FAILED));
	row4(f, "join spread", SIM_M_JOIN_SPREAD_P50, v);
	fprintf(f, "  %-18s p50 %-9s p99 %-9s max %s\n", "join rounds",
		F(SIM_M_JOIN_ROUNDS_P50), F(SIM_M_JOIN_ROUNDS_P99),
		F(SIM_M_JOIN_ROUNDS_MAX));
	if (v[SIM_M_RESTARTS] > 0) {
		fprintf(f, "restarts           %s (incomplete %s)\n",
			F(SIM_M_RESTARTS), F(SIM_M_REJOINS_INCOMPLETE));
		row4(f, "rejoin spread", SIM_M_REJOIN_SPREAD_P50, v);
	}
	fprintf(f,
		"views              live %s, digests %s (largest %s), "
		"max after bootstrap %s, converged at %s\n",
		F(SIM_M_LIVE), F(SIM_M_DIGESTS), F(SIM_M_LARGEST_VIEW),
		F(SIM_M_DIGESTS_MAX), F(SIM_M_CONVERGED_AT));
	fprintf(f,
		"                   alive seen min %s max %s; suspect "
		"entries %s, failed entries %s; refutes %s; health max %s\n",
		F(SIM_M_ALIVE_VIEW_MIN), F(SIM_M_ALIVE_VIEW_MAX),
		F(SIM_M_SUSPECT_VIEWS), F(SIM_M_FAILED_VIEWS), F(SIM_M_REFUTES),
		F(SIM_M_HEALTH_MAX));
	fprintf(f,
		"traffic            msgs/node/s mean %s max %s   "
		"bytes/node/s mean %s max %s\n",
		F(SIM_M_MSGS_MEAN), F(SIM_M_MSGS_MAX), F(SIM_M_BYTES_MEAN),
		F(SIM_M_BYTES_MAX));
	fprintf(f,
		"                   sent %s, dropped by net %s, refused by "
		"nodes %s, streams %s (failed %s)\n",
		F(SIM_M_NET_SENT), F(SIM_M_NET_DROPPED), F(SIM_M_NODE_DROPS),
		F(SIM_M_STREAMS), F(SIM_M_STREAMS_FAILED));
	fprintf(f,
		"memory             peak RSS %s, per node %s, per member "
		"entry %s, shared names %s\n",
		F(SIM_M_PEAK_RSS_MB), F(SIM_M_NODE_BYTES), F(SIM_M_ENTRY_BYTES),
		F(SIM_M_POOL_BYTES));
	report_sched(f, v);
	{
		const struct sim_metrics *m = sim_metrics(s);
		uint32_t shown = 0;

		for (uint32_t k = 0; k < m->nfalses && shown < 5; k++) {
			const struct sim_false *x = &m->falses[k];

			if (x->excused)
				continue;
			if (!shown++)
				fprintf(f, "false alarms (first few):\n");
			fprintf(f,
				"  t=%.3fs node-%" PRIu32 " %s node-%" PRIu32
				"\n",
				(double)x->t_us / 1e6, x->observer,
				x->kind == SWIM_EV_FAILED ? "declared dead"
							  : "suspected",
				x->subject);
		}
	}
	if (o && o->n) {
		fprintf(f, "expectations:\n");
		for (uint32_t e = 0; e < o->n; e++) {
			const struct sim_expect *x = &sc->expects[e];

			sim_format_value(a, sizeof(a), x->metric, o->got[e]);
			fprintf(f, "  %s  line %-4u %s",
				o->pass[e] ? "PASS" : "FAIL", x->line, x->text);
			if (x->at_us != UINT64_MAX)
				fprintf(f, " (at %.0fs)",
					(double)x->at_us / 1e6);
			fprintf(f, "   got %s\n", a);
		}
	}
	if (o && o->determinism_checked)
		fprintf(f,
			"determinism        %s (trace %016" PRIx64
			" and %016" PRIx64 ")\n",
			o->determinism_ok ? "ok" : "MISMATCH", o->trace,
			o->trace2);
}

#undef F

void
sim_report_failures(FILE *f, const struct sim *s, const struct sim_outcome *o)
{
	const struct sim_scenario *sc = sim_scenario_of(s);
	const char *file = sc->file[0] ? sc->file : "scenario";
	char a[32];

	for (uint32_t e = 0; e < o->n; e++) {
		const struct sim_expect *x = &sc->expects[e];

		if (o->pass[e])
			continue;
		sim_format_value(a, sizeof(a), x->metric, o->got[e]);
		fprintf(f,
			"%s:%u: expectation failed: %s (got %s) seed %" PRIu64
			"\n",
			file, x->line, x->text, a, sc->seed);
	}
}

/* ---- files ------------------------------------------------------------------
 */

static FILE *
open_in(const char *dir, const char *name, char *why, size_t cap)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f)
		snprintf(why, cap, "%s: %s", path, strerror(errno));
	return f;
}

static int
close_file(FILE *f, const char *name, char *why, size_t cap)
{
	int bad = ferror(f);

	if (fclose(f) || bad) {
		snprintf(why, cap, "%s: write error", name);
		return ERR_IO;
	}
	return 0;
}

static void
json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static void
json_num(FILE *f, double v)
{
	if (!isfinite(v))
		fputs("null", f);
	else if (v == floor(v) && fabs(v) < 1e15)
		fprintf(f, "%.0f", v);
	else
		fprintf(f, "%.6g", v);
}

static double
ms_or_inf(uint64_t from, uint64_t to)
{
	if (from == SIM_NEVER || to == SIM_NEVER)
		return INFINITY;
	return (double)(to - from) / 1000.0;
}

static const char *const rumour_names[] = {"join", "rejoin", "crash", "leave"};

/* Reschedules (per crash, with its replicas) and failovers. */
static void
json_sched(FILE *f, const struct sim *s)
{
	uint32_t nc, nr, nf;
	const struct sim_rcrash *c = sim_sched_crashes(s, &nc);
	const struct sim_rslot *r = sim_sched_rslots(s, &nr);
	const struct sim_failover *fo = sim_sched_failovers(s, &nf);

	fprintf(f, "  \"reschedules\": [");
	for (uint32_t k = 0; k < nc && k < 2000; k++) {
		fprintf(f,
			"%s\n    {\"node\": %u, \"t_s\": %.3f, "
			"\"replicas\": %u, \"running_again_ms\": ",
			k ? "," : "", c[k].node, (double)c[k].t_us / 1e6,
			c[k].n);
		json_num(f, ms_or_inf(c[k].t_us, c[k].done_us));
		fprintf(f, ", \"slots\": [");
		for (uint32_t j = 0; j < c[k].n && c[k].first + j < nr; j++) {
			const struct sim_rslot *x = &r[c[k].first + j];

			fprintf(f, "%s{\"service\": ", j ? ", " : "");
			json_str(f, sim_sched_service_name(s, x->svc));
			fprintf(f, ", \"slot\": %u, \"decided_ms\": ", x->slot);
			json_num(f, ms_or_inf(c[k].t_us, x->decide_us));
			fprintf(f, ", \"assigned_ms\": ");
			json_num(f, ms_or_inf(c[k].t_us, x->assign_us));
			fprintf(f, ", \"running_ms\": ");
			json_num(f, ms_or_inf(c[k].t_us, x->run_us));
			fprintf(f, ", \"dropped\": %s}",
				x->dropped ? "true" : "false");
		}
		fprintf(f, "]}");
	}
	fprintf(f, "%s],\n  \"failovers\": [", nc ? "\n  " : "");
	for (uint32_t k = 0; k < nf; k++) {
		fprintf(f,
			"%s\n    {\"node\": %u, \"t_s\": %.3f, \"left\": %s, "
			"\"new_manager\": ",
			k ? "," : "", fo[k].node, (double)fo[k].t_us / 1e6,
			fo[k].left ? "true" : "false");
		if (fo[k].new_manager >= 0)
			fprintf(f, "\"node-%" PRId64 "\"", fo[k].new_manager);
		else
			fputs("null", f);
		fprintf(f, ", \"failover_ms\": ");
		json_num(f, ms_or_inf(fo[k].t_us, fo[k].done_us));
		fputc('}', f);
	}
	fprintf(f, "%s],\n", nf ? "\n  " : "");
}

static int
write_json(const char *dir, const struct sim *s, const double *v,
	   const struct sim_outcome *o, char *why, size_t cap)
{
	const struct sim_scenario *sc = sim_scenario_of(s);
	const struct sim_metrics *m = sim_metrics(s);
	FILE *f = open_in(dir, "summary.json", why, cap);
	bool first = true;
	uint32_t shown = 0;

	if (!f)
		return ERR_IO;
	fprintf(f, "{\n  \"scenario\": ");
	json_str(f, sc->file);
	fprintf(f, ",\n  \"title\": ");
	json_str(f, sc->title);
	fprintf(f,
		",\n  \"nodes\": %u,\n  \"seed\": %" PRIu64
		",\n  \"profile\": ",
		sc->nodes, sc->seed);
	json_str(f, sc->prof.name);
	fprintf(f,
		",\n  \"crypto\": %s,\n  \"warm\": %s,\n"
		"  \"duration_s\": %.3f,\n  \"events\": %" PRIu64 ",\n"
		"  \"trace_hash\": \"%016" PRIx64 "\",\n",
		sc->crypto ? "true" : "false", sc->warm ? "true" : "false",
		(double)sim_now_us(s) / 1e6, sim_events(s), sim_trace_hash(s));
	fprintf(f,
		"  \"bootstrap_end_s\": %.3f,\n  \"measure_from_s\": %.3f,\n",
		(double)sim_bootstrap_end_us(s) / 1e6,
		(double)sim_measure_us(s) / 1e6);
	fprintf(f, "  \"metrics\": {\n");
	for (int k = 0; k < SIM_M__N; k++) {
		fprintf(f, "    \"%s\": ", sim_metric_info(k)->name);
		json_num(f, v[k]);
		fprintf(f, "%s\n", k + 1 < SIM_M__N ? "," : "");
	}
	fprintf(f, "  },\n  \"never\": [");
	for (int k = 0; k < SIM_M__N; k++) {
		if (!isinf(v[k]))
			continue;
		fprintf(f, "%s\"%s\"", first ? "" : ", ",
			sim_metric_info(k)->name);
		first = false;
	}
	fprintf(f, "],\n  \"expectations\": [");
	for (uint32_t e = 0; o && e < o->n; e++) {
		const struct sim_expect *x = &sc->expects[e];

		fprintf(f, "%s\n    {\"line\": %u, \"text\": ", e ? "," : "",
			x->line);
		json_str(f, x->text);
		fprintf(f, ", \"at_s\": ");
		json_num(f,
			 x->at_us == UINT64_MAX ? NAN : (double)x->at_us / 1e6);
		fprintf(f, ", \"got\": ");
		json_num(f, o->got[e]);
		fprintf(f, ", \"pass\": %s}", o->pass[e] ? "true" : "false");
	}
	fprintf(f, "%s],\n  \"crashes\": [", o && o->n ? "\n  " : "");
	for (uint32_t r = 0; r < m->nrum && shown < 2000; r++) {
		const struct sim_rumour *ru = &m->rum[r];

		if (ru->kind != SIM_RUM_CRASH)
			continue;
		fprintf(f,
			"%s\n    {\"node\": %u, \"t_s\": %.3f, "
			"\"first_suspect_ms\": ",
			shown++ ? "," : "", ru->subject,
			(double)ru->t0_us / 1e6);
		json_num(f, ms_or_inf(ru->t0_us, ru->first_suspect_us));
		fprintf(f, ", \"first_dead_ms\": ");
		json_num(f, ms_or_inf(ru->t0_us, ru->first_dead_us));
		fprintf(f, ", \"dead_everywhere_ms\": ");
		json_num(f, ms_or_inf(ru->t0_us, ru->done_us));
		fprintf(f, ", \"interrupted\": %s}",
			ru->interrupted ? "true" : "false");
	}
	fprintf(f, "%s],\n  \"false_alarms\": [", shown ? "\n  " : "");
	for (uint32_t k = 0; k < m->nfalses; k++) {
		const struct sim_false *x = &m->falses[k];

		fprintf(f,
			"%s\n    {\"t_s\": %.6f, \"observer\": %u, "
			"\"subject\": %u, \"kind\": \"%s\", "
			"\"excused\": %s}",
			k ? "," : "", (double)x->t_us / 1e6, x->observer,
			x->subject,
			x->kind == SWIM_EV_FAILED ? "failed" : "suspect",
			x->excused ? "true" : "false");
	}
	fprintf(f, "%s],\n", m->nfalses ? "\n  " : "");
	json_sched(f, s);
	if (o && o->determinism_checked)
		fprintf(f, "  \"determinism\": %s,\n",
			o->determinism_ok ? "true" : "false");
	fprintf(f, "  \"interrupted\": %s,\n  \"error\": ",
		o && o->interrupted ? "true" : "false");
	json_str(f, o ? o->error : "");
	fprintf(f, ",\n");
	fprintf(f, "  \"failed\": %u\n}\n", o ? o->failed : 0);
	return close_file(f, "summary.json", why, cap);
}

static int
write_csv(const char *dir, const struct sim *s, char *why, size_t cap)
{
	const struct sim_metrics *m = sim_metrics(s);
	FILE *f = open_in(dir, "timeseries.csv", why, cap);
	int rc;

	if (!f)
		return ERR_IO;
	fprintf(f, "t_s,live,digests,largest_view,alive_min,alive_mean,"
		   "alive_max,suspect_entries,failed_entries,health_max,"
		   "msgs_per_node_s,bytes_per_node_s,events_pending,"
		   "replicas_desired,replicas_running,replicas_majority,"
		   "processes,doubled,managers,leaders,no_manager\n");
	for (uint32_t k = 0; k < m->nsamples; k++) {
		const struct sim_sample *x = &m->samples[k];

		fprintf(f,
			"%.3f,%u,%u,%u,%u,%.2f,%u,%" PRIu64 ",%" PRIu64
			",%u,%.2f,%.1f,%" PRIu64 ",%u,%u,%u,%u,%u,%u,%u,%u\n",
			(double)x->t_us / 1e6, x->live, x->digests, x->largest,
			x->alive_min, x->alive_mean, x->alive_max,
			x->suspect_sum, x->failed_sum, x->health_max,
			x->msgs_ps, x->bytes_ps, x->inflight, x->desired,
			x->running, x->majority, x->processes, x->doubled,
			x->managers, x->leaders, x->no_manager);
	}
	rc = close_file(f, "timeseries.csv", why, cap);
	if (rc)
		return rc;
	f = open_in(dir, "rumours.csv", why, cap);
	if (!f)
		return ERR_IO;
	fprintf(f, "kind,node,t_s,first_suspect_ms,first_dead_ms,done_ms,"
		   "eligible,declared,interrupted\n");
	for (uint32_t r = 0; r < m->nrum; r++) {
		const struct sim_rumour *ru = &m->rum[r];
		double a = ms_or_inf(ru->t0_us, ru->first_suspect_us);
		double b = ms_or_inf(ru->t0_us, ru->first_dead_us);
		double c = ms_or_inf(ru->t0_us, ru->done_us);

		fprintf(f, "%s,%u,%.6f,", rumour_names[ru->kind], ru->subject,
			(double)ru->t0_us / 1e6);
		if (ru->kind == SIM_RUM_CRASH && isfinite(a))
			fprintf(f, "%.3f", a);
		fputc(',', f);
		if (ru->kind == SIM_RUM_CRASH && isfinite(b))
			fprintf(f, "%.3f", b);
		fputc(',', f);
		if (isfinite(c))
			fprintf(f, "%.3f", c);
		fprintf(f, ",%u,%u,%d\n", ru->eligible, ru->declared,
			ru->interrupted);
	}
	rc = close_file(f, "rumours.csv", why, cap);
	if (rc)
		return rc;
	{
		uint32_t nc, nr;
		const struct sim_rcrash *c = sim_sched_crashes(s, &nc);
		const struct sim_rslot *r = sim_sched_rslots(s, &nr);

		if (!nr)
			return 0;
		f = open_in(dir, "reschedules.csv", why, cap);
		if (!f)
			return ERR_IO;
		fprintf(f, "crash_node,crash_t_s,service,slot,first_dead_ms,"
			   "decided_ms,assigned_ms,running_ms,dropped\n");
		for (uint32_t k = 0; k < nr; k++) {
			const struct sim_rslot *x = &r[k];
			const struct sim_rcrash *cr = &c[x->crash];
			uint64_t fd = cr->rumour != UINT32_MAX
					      ? m->rum[cr->rumour].first_dead_us
					      : SIM_NEVER;
			double t[4] = {
				ms_or_inf(cr->t_us, fd),
				ms_or_inf(cr->t_us, x->decide_us),
				ms_or_inf(cr->t_us, x->assign_us),
				ms_or_inf(cr->t_us, x->run_us),
			};

			fprintf(f, "%u,%.6f,%s,%u", cr->node,
				(double)cr->t_us / 1e6,
				sim_sched_service_name(s, x->svc), x->slot);
			for (int j = 0; j < 4; j++) {
				fputc(',', f);
				if (isfinite(t[j]))
					fprintf(f, "%.3f", t[j]);
			}
			fprintf(f, ",%d\n", x->dropped);
		}
		return close_file(f, "reschedules.csv", why, cap);
	}
}

/* ---- SVG
 * ---------------------------------------------------------------------- */

struct series {
	const char *name;
	const char *color;
	const double *x, *y;
	size_t n;
	bool step; /* a CDF: draw as steps */
};

#define SVG_W 720
#define SVG_H 400
#define PAD_L 70
#define PAD_R 20
#define PAD_T 40
#define PAD_B 50

static double
nice_step(double range, int ticks)
{
	double raw = range / ticks, mag, f;

	if (raw <= 0 || !isfinite(raw))
		return 1;
	mag = pow(10, floor(log10(raw)));
	f = raw / mag;
	if (f <= 1)
		return mag;
	if (f <= 2)
		return 2 * mag;
	if (f <= 5)
		return 5 * mag;
	return 10 * mag;
}

static void
tick_label(char *out, size_t cap, double v)
{
	if (fabs(v) >= 1e6)
		snprintf(out, cap, "%.3gM", v / 1e6);
	else if (fabs(v) >= 1e4)
		snprintf(out, cap, "%.3gk", v / 1e3);
	else
		snprintf(out, cap, "%g", v);
}

static int
svg_plot(const char *dir, const char *file, const char *title,
	 const char *xlabel, const char *ylabel, const struct series *ser,
	 size_t nser, double ymin_fixed, double ymax_fixed, char *why,
	 size_t cap)
{
	FILE *f = open_in(dir, file, why, cap);
	double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY,
	       ymax = -INFINITY, xs, ys;
	const double pw = SVG_W - PAD_L - PAD_R, ph = SVG_H - PAD_T - PAD_B;
	char lab[32];

	if (!f)
		return ERR_IO;
	for (size_t k = 0; k < nser; k++) {
		for (size_t i = 0; i < ser[k].n; i++) {
			double x = ser[k].x[i], y = ser[k].y[i];

			if (!isfinite(x) || !isfinite(y))
				continue;
			xmin = fmin(xmin, x);
			xmax = fmax(xmax, x);
			ymin = fmin(ymin, y);
			ymax = fmax(ymax, y);
		}
	}
	if (!isfinite(xmin)) {
		xmin = 0;
		xmax = 1;
		ymin = 0;
		ymax = 1;
	}
	if (ymin > 0)
		ymin = 0;
	if (!isnan(ymin_fixed))
		ymin = ymin_fixed;
	if (!isnan(ymax_fixed))
		ymax = ymax_fixed;
	if (xmax <= xmin)
		xmax = xmin + 1;
	if (ymax <= ymin)
		ymax = ymin + 1;
	xs = nice_step(xmax - xmin, 8);
	ys = nice_step(ymax - ymin, 6);
	xmin = floor(xmin / xs) * xs;
	xmax = ceil(xmax / xs) * xs;
	ymax = ceil(ymax / ys) * ys;

#define PX(x) (PAD_L + ((x)-xmin) / (xmax - xmin) * pw)
#define PY(y) (PAD_T + ph - ((y)-ymin) / (ymax - ymin) * ph)
	fprintf(f,
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
		"height=\"%d\" font-family=\"sans-serif\" font-size=\"12\">\n"
		"<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
		SVG_W, SVG_H);
	fprintf(f, "<text x=\"%d\" y=\"22\" font-size=\"15\">", PAD_L);
	for (const char *p = title; *p; p++) {
		if (*p == '<')
			fputs("&lt;", f);
		else if (*p == '&')
			fputs("&amp;", f);
		else
			fputc(*p, f);
	}
	fprintf(f, "</text>\n");
	for (double x = xmin; x <= xmax + xs / 2; x += xs) {
		tick_label(lab, sizeof(lab), x);
		fprintf(f,
			"<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.1f\" "
			"stroke=\"#ddd\"/><text x=\"%.1f\" y=\"%.1f\" "
			"text-anchor=\"middle\">%s</text>\n",
			PX(x), PAD_T, PX(x), PAD_T + ph, PX(x), PAD_T + ph + 16,
			lab);
	}
	for (double y = ymin; y <= ymax + ys / 2; y += ys) {
		tick_label(lab, sizeof(lab), y);
		fprintf(f,
			"<line x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
			"stroke=\"#ddd\"/><text x=\"%d\" y=\"%.1f\" "
			"text-anchor=\"end\">%s</text>\n",
			PAD_L, PY(y), PAD_L + pw, PY(y), PAD_L - 6, PY(y) + 4,
			lab);
	}
	fprintf(f,
		"<rect x=\"%d\" y=\"%d\" width=\"%.0f\" height=\"%.0f\" "
		"fill=\"none\" stroke=\"black\"/>\n",
		PAD_L, PAD_T, pw, ph);
	fprintf(f,
		"<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
		PAD_L + pw / 2, SVG_H - 10, xlabel);
	fprintf(f,
		"<text x=\"16\" y=\"%.1f\" text-anchor=\"middle\" "
		"transform=\"rotate(-90 16 %.1f)\">%s</text>\n",
		PAD_T + ph / 2, PAD_T + ph / 2, ylabel);
	/* The legend sits on a white card, drawn first, lines over it. */
	fprintf(f,
		"<rect x=\"%.1f\" y=\"%d\" width=\"186\" height=\"%zu\" "
		"fill=\"white\" fill-opacity=\"0.85\" stroke=\"#ccc\"/>\n",
		PAD_L + pw - 196, PAD_T + 2, 16 * nser + 6);
	for (size_t k = 0; k < nser; k++) {
		const struct series *se = &ser[k];
		double prev_y = NAN;
		size_t drawn = 0;

		fprintf(f,
			"<polyline fill=\"none\" stroke=\"%s\" "
			"stroke-width=\"1.6\" points=\"",
			se->color);
		for (size_t i = 0; i < se->n; i++) {
			double x = se->x[i], y = se->y[i];

			if (!isfinite(x) || !isfinite(y))
				continue;
			if (y > ymax)
				y = ymax;
			if (se->step && !isnan(prev_y))
				fprintf(f, "%.1f,%.1f ", PX(x), PY(prev_y));
			fprintf(f, "%.1f,%.1f ", PX(x), PY(y));
			prev_y = y;
			drawn++;
		}
		fprintf(f, "\"/>\n");
		fprintf(f,
			"<rect x=\"%.1f\" y=\"%zu\" width=\"14\" height=\"3\" "
			"fill=\"%s\"/><text x=\"%.1f\" y=\"%zu\">%s%s</text>\n",
			PAD_L + pw - 190, (size_t)PAD_T + 12 + 16 * k,
			se->color, PAD_L + pw - 170,
			(size_t)PAD_T + 16 + 16 * k, se->name,
			drawn ? "" : " (none)");
	}
	fprintf(f, "</svg>\n");
#undef PX
#undef PY
	return close_file(f, file, why, cap);
}

static int
cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* CDF points of vals (sorted in place; infinities never reach 1). */
static void
cdf(double *vals, size_t n, size_t total, double *ys)
{
	qsort(vals, n, sizeof(*vals), cmp_d);
	for (size_t i = 0; i < n; i++)
		ys[i] = (double)(i + 1) / (double)(total ? total : 1);
}

/* CDF of crash -> replicas running again: per crash, per replica. */
static int
write_resched_svg(const char *dir, const struct sim *s, char *why, size_t cap)
{
	const struct sim_metrics *m = sim_metrics(s);
	uint32_t nc, nr;
	const struct sim_rcrash *c = sim_sched_crashes(s, &nc);
	const struct sim_rslot *r = sim_sched_rslots(s, &nr);
	double *x0 = calloc(nc + 1, sizeof(double));
	double *y0 = calloc(nc + 1, sizeof(double));
	double *x1 = calloc(nr + 1, sizeof(double));
	double *y1 = calloc(nr + 1, sizeof(double));
	double *x2 = calloc(nr + 1, sizeof(double));
	double *y2 = calloc(nr + 1, sizeof(double));
	size_t n0 = 0, n1 = 0, n2 = 0;
	int rc = ERR_NOMEM;

	if (!x0 || !y0 || !x1 || !y1 || !x2 || !y2) {
		snprintf(why, cap, "out of memory");
		goto out;
	}
	for (uint32_t k = 0; k < nc; k++)
		x0[n0++] = ms_or_inf(c[k].t_us, c[k].done_us) / 1000;
	for (uint32_t k = 0; k < nr; k++) {
		const struct sim_rcrash *cr = &c[r[k].crash];

		if (r[k].dropped)
			continue;
		x1[n1++] = ms_or_inf(cr->t_us, r[k].run_us) / 1000;
		if (cr->rumour != UINT32_MAX)
			x2[n2++] = ms_or_inf(cr->t_us,
					     m->rum[cr->rumour].first_dead_us) /
				   1000;
	}
	cdf(x0, n0, n0, y0);
	cdf(x1, n1, n1, y1);
	cdf(x2, n2, n2, y2);
	{
		struct series v[] = {
			{"first death declared", "#e90", x2, y2, n2, true},
			{"replica running again", "#27c", x1, y1, n1, true},
			{"all of a crash's replicas", "#c33", x0, y0, n0, true},
		};
		rc = svg_plot(dir, "reschedule.svg",
			      "Crash to replicas running elsewhere (CDF)",
			      "seconds after the crash", "fraction", v, 3, 0, 1,
			      why, cap);
	}
out:
	free(x0);
	free(y0);
	free(x1);
	free(y1);
	free(x2);
	free(y2);
	return rc;
}

static int
write_svgs(const char *dir, const struct sim *s, char *why, size_t cap)
{
	const struct sim_metrics *m = sim_metrics(s);
	uint32_t ns = m->nsamples, nr = m->nrum;
	double *t = calloc(ns + 1, sizeof(double));
	double *y[9];
	double *cx[3], *cy[3];
	size_t cn = 0, jn = 0;
	int rc = ERR_NOMEM;

	for (int k = 0; k < 9; k++)
		y[k] = calloc(ns + 1, sizeof(double));
	for (int k = 0; k < 3; k++) {
		cx[k] = calloc(nr + 1, sizeof(double));
		cy[k] = calloc(nr + 1, sizeof(double));
	}
	if (!t || !y[0] || !y[1] || !y[2] || !y[3] || !y[4] || !y[5] || !y[6] ||
	    !y[7] || !y[8] || !cx[0] || !cx[1] || !cx[2] || !cy[0] || !cy[1] ||
	    !cy[2]) {
		snprintf(why, cap, "out of memory");
		goto out;
	}
	for (uint32_t k = 0; k < ns; k++) {
		const struct sim_sample *x = &m->samples[k];

		t[k] = (double)x->t_us / 1e6;
		y[0][k] = x->alive_min;
		y[1][k] = x->alive_mean;
		y[2][k] = x->alive_max;
		y[3][k] = x->live;
		y[4][k] = x->digests;
		y[5][k] = x->desired;
		y[6][k] = x->running;
		y[7][k] = x->processes;
		y[8][k] = x->majority;
	}
	if (ns && m->samples[ns - 1].services) {
		struct series v[] = {
			{"desired", "#888", t, y[5], ns, false},
			{"running (truth)", "#2a7", t, y[6], ns, false},
			{"running with a majority", "#27c", t, y[8], ns, false},
			{"processes", "#c33", t, y[7], ns, false},
		};
		rc = svg_plot(dir, "replicas.svg",
			      "Replicas desired and running", "time (s)",
			      "replicas", v, 4, 0, NAN, why, cap);
		if (rc)
			goto out;
		rc = write_resched_svg(dir, s, why, cap);
		if (rc)
			goto out;
	}
	{
		struct series v[] = {
			{"live nodes (truth)", "#888", t, y[3], ns, false},
			{"alive seen: max", "#2a7", t, y[2], ns, false},
			{"alive seen: mean", "#27c", t, y[1], ns, false},
			{"alive seen: min", "#c33", t, y[0], ns, false},
		};
		rc = svg_plot(dir, "views.svg", "Members each node sees alive",
			      "time (s)", "members", v, 4, NAN, NAN, why, cap);
		if (rc)
			goto out;
	}
	{
		struct series v[] = {
			{"distinct digests", "#c33", t, y[4], ns, false},
		};
		rc = svg_plot(dir, "digests.svg",
			      "Distinct membership views among live nodes",
			      "time (s)", "digests", v, 1, 0, NAN, why, cap);
		if (rc)
			goto out;
	}
	for (uint32_t k = 0; k < ns; k++)
		y[0][k] = m->samples[k].bytes_ps;
	{
		struct series v[] = {
			{"bytes/node/s", "#27c", t, y[0], ns, false},
		};
		rc = svg_plot(dir, "traffic.svg",
			      "Bytes sent per node per second", "time (s)",
			      "bytes/s", v, 1, 0, NAN, why, cap);
		if (rc)
			goto out;
	}
	/* detection CDF: times in seconds */
	for (uint32_t r = 0; r < nr; r++) {
		const struct sim_rumour *ru = &m->rum[r];

		if (ru->kind != SIM_RUM_CRASH || ru->interrupted)
			continue;
		cx[0][cn] = ms_or_inf(ru->t0_us, ru->first_suspect_us) / 1000;
		cx[1][cn] = ms_or_inf(ru->t0_us, ru->first_dead_us) / 1000;
		cx[2][cn] = ms_or_inf(ru->t0_us, ru->done_us) / 1000;
		cn++;
	}
	for (int k = 0; k < 3; k++)
		cdf(cx[k], cn, cn, cy[k]);
	{
		struct series v[] = {
			{"first suspicion", "#e90", cx[0], cy[0], cn, true},
			{"first dead", "#c33", cx[1], cy[1], cn, true},
			{"dead everywhere", "#27c", cx[2], cy[2], cn, true},
		};
		rc = svg_plot(dir, "detection.svg",
			      "Crash detection (CDF over crashes)",
			      "seconds after the crash", "fraction of crashes",
			      v, 3, 0, 1, why, cap);
		if (rc)
			goto out;
	}
	for (uint32_t r = 0; r < nr; r++) {
		const struct sim_rumour *ru = &m->rum[r];

		if ((ru->kind != SIM_RUM_JOIN && ru->kind != SIM_RUM_REJOIN) ||
		    ru->interrupted || !ru->eligible)
			continue;
		cx[0][jn++] = ms_or_inf(ru->t0_us, ru->done_us) / 1000;
	}
	cdf(cx[0], jn, jn, cy[0]);
	{
		struct series v[] = {
			{"join known everywhere", "#2a7", cx[0], cy[0], jn,
			 true},
		};
		rc = svg_plot(dir, "joins.svg", "Join spread (CDF over joins)",
			      "seconds after the start", "fraction of joins", v,
			      1, 0, 1, why, cap);
	}
out:
	free(t);
	for (int k = 0; k < 9; k++)
		free(y[k]);
	for (int k = 0; k < 3; k++) {
		free(cx[k]);
		free(cy[k]);
	}
	return rc;
}

int
sim_report_write(const char *dir, const struct sim *s, const double *v,
		 const struct sim_outcome *o, char *why, size_t why_cap)
{
	int rc;

	if (mkdir(dir, 0777) && errno != EEXIST) {
		snprintf(why, why_cap, "%s: %s", dir, strerror(errno));
		return ERR_IO;
	}
	rc = write_json(dir, s, v, o, why, why_cap);
	if (!rc)
		rc = write_csv(dir, s, why, why_cap);
	if (!rc)
		rc = write_svgs(dir, s, why, why_cap);
	return rc;
}
