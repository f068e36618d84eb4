/* SPDX-License-Identifier: MIT */
/*
 * sim/report.h — turning a finished run into something to read: the
 * summary table on stdout, and with --out DIR a JSON summary, CSV time
 * series and hand-drawn SVG plots.
 *
 * Files written under DIR (created if missing):
 *   summary.json      every metric, the run's settings, expectations
 *   timeseries.csv    one row per sample (views, digests, traffic)
 *   rumours.csv       one row per crash / leave / join / restart
 *   views.svg         alive-view min/mean/max and live nodes over time
 *   digests.svg       distinct membership digests over time
 *   detection.svg     CDF of crash detection (suspect, dead, everywhere)
 *   joins.svg         CDF of join spread
 *   traffic.svg       bytes sent per node per second over time
 * and, when the run had services (sim/sched.c):
 *   reschedules.csv   one row per replica a crash took down, its times
 *   replicas.svg      replicas desired, running (anywhere, with a
 *                     majority) and processes over time
 *   reschedule.svg    CDF of crash to first death / replica running again
 *                     / all of the crash's replicas running again
 */
#ifndef SHOAL_SIM_REPORT_H
#define SHOAL_SIM_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "sim/metrics.h"

struct sim;

/* How the expectations of a run came out. */
struct sim_outcome {
	uint32_t n;
	double *got; /* value each expectation saw (NAN: no data) */
	bool *pass;
	uint32_t failed;
	uint64_t trace;
	bool determinism_checked;
	bool determinism_ok;
	uint64_t trace2;
	bool interrupted; /* the run stopped before its duration */
	char error[256];  /* why, when it did */
};

/* Evaluate every expectation of the run's scenario against v (the values
 * at the end) and the timed results. Allocates o->got / o->pass; free
 * them with sim_outcome_release(). 0 or ERR_NOMEM. */
int sim_outcome_eval(struct sim_outcome *o, const struct sim *s,
		     const double *v);
void sim_outcome_release(struct sim_outcome *o);

/* The human summary. */
void sim_report_table(FILE *f, const struct sim *s, const double *v,
		      const struct sim_outcome *o);

/* One line per failed expectation, with the seed (for --quiet runs). */
void sim_report_failures(FILE *f, const struct sim *s,
			 const struct sim_outcome *o);

/* Write every file into dir. 0 or ERR_IO with why. */
int sim_report_write(const char *dir, const struct sim *s, const double *v,
		     const struct sim_outcome *o, char *why, size_t why_cap);

/* Format a metric value with its unit ("1.52s", "312", "4.1 KB"). */
void sim_format_value(char *out, size_t cap, int metric, double v);

#endif
