/* SPDX-License-Identifier: MIT */
/*
 * sim/main.c — shoal-sim, the command line around the simulator.
 *
 *   shoal-sim [options] [SCENARIO_FILE]
 *
 * Reads a scenario (or builds one from the options), applies command-line
 * overrides on top of it, runs it, prints a summary and checks the
 * expectations. Exit status: 0 all expectations held; 1 an expectation
 * failed or the determinism check found a difference; 2 bad arguments or
 * a bad scenario (one line on stderr); 3 the run itself failed.
 *
 * Command-line values win over the scenario's (so `--seed 7 file.scn`
 * replays a scenario with another seed); `-e LINE` appends scenario lines.
 * The wall clock is read only for the report and the progress bar.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "gossip/profile.h"
#include "sim/engine.h"
#include "sim/metrics.h"
#include "sim/report.h"
#include "sim/scenario.h"
#include "sim/sim.h"
#include "sim/toy.h"

int main(int argc, char **argv);

enum {
	EXIT_EXPECT = 1,
	EXIT_USAGE = 2,
	EXIT_RUN = 3,
};

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: shoal-sim [options] [SCENARIO_FILE]\n"
		"\n"
		"  -n, --nodes N            virtual nodes at the start\n"
		"  -s, --seed S             run seed (everything derives from "
		"it)\n"
		"  -p, --profile NAME       lan, wan or local\n"
		"  -d, --duration D         simulated time (e.g. 300s, 10m)\n"
		"      --set KEY=VALUE      override a profile knob "
		"(repeatable)\n"
		"  -e, --exec LINE          add a scenario line (repeatable),\n"
		"                           e.g. -e 'at 30s crash node-7'\n"
		"      --no-crypto          unencrypted packets (checksum "
		"only)\n"
		"      --warm               warm start: every node starts at "
		"0s\n"
		"      --stagger D          time between bootstrap starts\n"
		"  -o, --out DIR            write summary.json, CSV and SVG "
		"plots\n"
		"  -q, --quiet              print only failures\n"
		"      --check-determinism  run twice, compare traces\n"
		"      --toy                drive the toy protocol, not real "
		"nodes\n"
		"      --log FILE           node logs (logfmt) to FILE\n"
		"      --log-level L        error, warn, info, debug, trace\n"
		"      --progress / --no-progress\n"
		"      --dump NODE          print NODE's member table at the "
		"end\n"
		"      --metrics            list the metrics `expect` can use\n"
		"  -h, --help\n"
		"\n"
		"Exit: 0 ok, 1 expectation or determinism failed, 2 bad "
		"arguments or scenario, 3 run error.\n");
}

static void
list_metrics(void)
{
	static const char *const units[] = {"count", "time", "rounds", "rate",
					    "bytes", "MB",   "s",      "ratio"};

	for (int k = 0; k < SIM_M__N; k++) {
		const struct sim_metric_info *mi = sim_metric_info(k);

		printf("%-24s %-7s %s%s\n", mi->name, units[mi->unit], mi->help,
		       mi->volatile_ ? " (machine-dependent)" : "");
	}
}

struct cli {
	const char *file;
	const char *out;
	bool quiet, determinism, toy, no_crypto, warm;
	int progress; /* -1 auto */
	const char *nodes, *seed, *profile, *duration, *stagger;
	const char **sets;
	size_t nsets;
	const char **lines;
	size_t nlines;
	const char *log_file;
	const char *log_level;
	const char **dumps;
	size_t ndumps;
};

static int
bad(const char *what, const char *arg, const char *tail)
{
	fprintf(stderr, "shoal-sim: %s %s%s\n", what, arg, tail);
	return EXIT_USAGE;
}

/* Build the scenario from the file, -e lines and overrides. */
static int
build(const struct cli *c, struct sim_scenario *sc)
{
	char why[SIM_WHY_MAX + 64];
	char line[512];
	int rc;

	sim_scenario_init(sc);
	if (c->file) {
		rc = sim_scenario_parse_file(sc, c->file, why, sizeof(why));
		if (rc) {
			fprintf(stderr, "shoal-sim: %s\n", why);
			return EXIT_USAGE;
		}
	}
	for (size_t k = 0; k < c->nlines; k++) {
		if (sim_scenario_parse_line(sc, c->lines[k], "-e",
					    (uint32_t)k + 1, why,
					    sizeof(why))) {
			fprintf(stderr, "shoal-sim: %s\n", why);
			return EXIT_USAGE;
		}
	}
#define OVERRIDE(opt, word)                                                    \
	do {                                                                   \
		if (opt) {                                                     \
			snprintf(line, sizeof(line), "%s %s", word, opt);      \
			if (sim_scenario_parse_line(sc, line, "--" word, 0,    \
						    why, sizeof(why))) {       \
				fprintf(stderr, "shoal-sim: %s\n", why);       \
				return EXIT_USAGE;                             \
			}                                                      \
		}                                                              \
	} while (0)
	OVERRIDE(c->nodes, "nodes");
	OVERRIDE(c->seed, "seed");
	OVERRIDE(c->profile, "profile");
	OVERRIDE(c->duration, "duration");
	if (c->stagger) {
		snprintf(line, sizeof(line), "bootstrap stagger %s",
			 c->stagger);
		if (sim_scenario_parse_line(sc, line, "--stagger", 0, why,
					    sizeof(why))) {
			fprintf(stderr, "shoal-sim: %s\n", why);
			return EXIT_USAGE;
		}
	}
	for (size_t k = 0; k < c->nsets; k++) {
		snprintf(line, sizeof(line), "set %s", c->sets[k]);
		if (sim_scenario_parse_line(sc, line, "--set", 0, why,
					    sizeof(why))) {
			fprintf(stderr, "shoal-sim: %s\n", why);
			return EXIT_USAGE;
		}
	}
#undef OVERRIDE
	if (c->no_crypto)
		sc->crypto = false;
	if (c->warm)
		sc->warm = true;
	if (sim_scenario_finalize(sc, why, sizeof(why))) {
		fprintf(stderr, "shoal-sim: %s\n", why);
		return EXIT_USAGE;
	}
	return 0;
}

struct result {
	uint64_t trace;
	bool interrupted;
	char error[SIM_WHY_MAX];
	double v[SIM_M__N];
};

static volatile sig_atomic_t stop_requested;

static void
on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* One run. Keeps the sim alive in *out for reporting when out != NULL. */
static int
run_once(const struct cli *c, const struct sim_scenario *sc,
	 const struct sim_run_opts *opts, struct result *res, struct sim **out)
{
	char why[SIM_WHY_MAX];
	const struct sim_node_ops *ops =
		c->toy ? sim_toy_ops() : sim_node_ops_real();
	struct sim *s;
	int err = 0;

	s = sim_new(sc, ops, NULL, opts, &err, why, sizeof(why));
	if (!s) {
		fprintf(stderr, "shoal-sim: %s\n", why);
		return EXIT_RUN;
	}
	err = sim_run(s, why, sizeof(why));
	if (err && !out) {
		fprintf(stderr, "shoal-sim: %s (seed %" PRIu64 ", t=%.3fs)\n",
			why, sc->seed, (double)sim_now_us(s) / 1e6);
		sim_delete(s);
		return EXIT_RUN;
	}
	if (err) { /* interrupted or failed: report what was simulated */
		fprintf(stderr,
			"shoal-sim: %s (t=%.3fs of %.0fs, seed %" PRIu64 ")\n",
			why, (double)sim_now_us(s) / 1e6,
			(double)sc->duration_ms / 1e3, sc->seed);
		snprintf(res->error, sizeof(res->error), "%s", why);
	}
	res->interrupted = err != 0;
	sim_values(s, res->v);
	res->trace = sim_trace_hash(s);
	if (out)
		*out = s;
	else
		sim_delete(s);
	return 0;
}

static bool
same_values(const double *a, const double *b)
{
	for (int k = 0; k < SIM_M__N; k++) {
		if (sim_metric_info(k)->volatile_)
			continue;
		if (isnan(a[k]) && isnan(b[k]))
			continue;
		if (a[k] != b[k])
			return false;
	}
	return true;
}

int
main(int argc, char **argv)
{
	enum {
		OPT_SET = 256,
		OPT_NO_CRYPTO,
		OPT_CHECK,
		OPT_TOY,
		OPT_LOG,
		OPT_LOG_LEVEL,
		OPT_PROGRESS,
		OPT_NO_PROGRESS,
		OPT_METRICS,
		OPT_WARM,
		OPT_STAGGER,
		OPT_DUMP,
	};
	static const struct option longopts[] = {
		{"nodes", required_argument, NULL, 'n'},
		{"seed", required_argument, NULL, 's'},
		{"profile", required_argument, NULL, 'p'},
		{"duration", required_argument, NULL, 'd'},
		{"set", required_argument, NULL, OPT_SET},
		{"exec", required_argument, NULL, 'e'},
		{"no-crypto", no_argument, NULL, OPT_NO_CRYPTO},
		{"warm", no_argument, NULL, OPT_WARM},
		{"stagger", required_argument, NULL, OPT_STAGGER},
		{"out", required_argument, NULL, 'o'},
		{"quiet", no_argument, NULL, 'q'},
		{"check-determinism", no_argument, NULL, OPT_CHECK},
		{"toy", no_argument, NULL, OPT_TOY},
		{"log", required_argument, NULL, OPT_LOG},
		{"log-level", required_argument, NULL, OPT_LOG_LEVEL},
		{"progress", no_argument, NULL, OPT_PROGRESS},
		{"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
		{"metrics", no_argument, NULL, OPT_METRICS},
		{"dump", required_argument, NULL, OPT_DUMP},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct cli c = {.progress = -1};
	struct sim_scenario sc;
	struct sim_run_opts opts = {0};
	struct result r1 = {0}, r2 = {0};
	struct sim_outcome o;
	struct sim *s = NULL;
	FILE *logf = NULL;
	enum log_level lvl = LOG_INFO;
	int ch, rc;

	c.sets = calloc((size_t)argc + 1, sizeof(char *));
	c.lines = calloc((size_t)argc + 1, sizeof(char *));
	c.dumps = calloc((size_t)argc + 1, sizeof(char *));
	if (!c.sets || !c.lines || !c.dumps)
		return EXIT_RUN;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":n:s:p:d:e:o:qh", longopts,
				 NULL)) != -1) {
		switch (ch) {
		case 'n':
			c.nodes = optarg;
			break;
		case 's':
			c.seed = optarg;
			break;
		case 'p':
			c.profile = optarg;
			break;
		case 'd':
			c.duration = optarg;
			break;
		case OPT_SET:
			c.sets[c.nsets++] = optarg;
			break;
		case 'e':
			c.lines[c.nlines++] = optarg;
			break;
		case OPT_NO_CRYPTO:
			c.no_crypto = true;
			break;
		case OPT_WARM:
			c.warm = true;
			break;
		case OPT_STAGGER:
			c.stagger = optarg;
			break;
		case 'o':
			c.out = optarg;
			break;
		case 'q':
			c.quiet = true;
			break;
		case OPT_CHECK:
			c.determinism = true;
			break;
		case OPT_TOY:
			c.toy = true;
			break;
		case OPT_LOG:
			c.log_file = optarg;
			break;
		case OPT_LOG_LEVEL:
			c.log_level = optarg;
			break;
		case OPT_PROGRESS:
			c.progress = 1;
			break;
		case OPT_NO_PROGRESS:
			c.progress = 0;
			break;
		case OPT_DUMP:
			c.dumps[c.ndumps++] = optarg;
			break;
		case OPT_METRICS:
			list_metrics();
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		case ':':
			return bad("option", argv[optind - 1],
				   " needs a value");
		default:
			return bad("unknown option", argv[optind - 1],
				   " (try --help)");
		}
	}
	if (optind < argc)
		c.file = argv[optind++];
	if (optind < argc)
		return bad("unexpected argument", argv[optind],
			   " (one scenario file only)");
	if (c.log_level && log_level_parse(c.log_level, &lvl))
		return bad("unknown log level", c.log_level, "");

	rc = build(&c, &sc);
	if (rc)
		goto out;
	if (c.log_file) {
		logf = fopen(c.log_file, "w");
		if (!logf) {
			fprintf(stderr, "shoal-sim: %s: %s\n", c.log_file,
				strerror(errno));
			rc = EXIT_USAGE;
			goto out_sc;
		}
		opts.log = logf;
		opts.log_level = (int)lvl;
	}
	{
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_signal;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		opts.stop = &stop_requested;
	}
	opts.progress = c.progress == 1 ||
			(c.progress < 0 && !c.quiet && isatty(STDERR_FILENO));

	rc = run_once(&c, &sc, &opts, &r1, &s);
	if (rc)
		goto out_log;
	if (sim_outcome_eval(&o, s, r1.v)) {
		rc = EXIT_RUN;
		goto out_sim;
	}
	o.interrupted = r1.interrupted;
	snprintf(o.error, sizeof(o.error), "%s", r1.error);
	if (c.determinism && !r1.interrupted) {
		struct sim_run_opts o2 = opts;

		o2.log = NULL;
		rc = run_once(&c, &sc, &o2, &r2, NULL);
		if (rc)
			goto out_outcome;
		o.determinism_checked = true;
		o.trace2 = r2.trace;
		o.determinism_ok =
			r1.trace == r2.trace && same_values(r1.v, r2.v);
	}
	if (!c.quiet)
		sim_report_table(stdout, s, r1.v, &o);
	for (size_t k = 0; k < c.ndumps; k++) {
		int64_t i = sim_index_of_name(c.dumps[k]);
		const struct sim_node_ops *ops =
			c.toy ? sim_toy_ops() : sim_node_ops_real();

		if (i < 0)
			i = strtol(c.dumps[k], NULL, 10);
		if (i < 0 || !sim_node_is_up(s, (uint32_t)i) || !ops->dump)
			printf("%s: not running\n", c.dumps[k]);
		else
			ops->dump(sim_node_obj(s, (uint32_t)i), stdout);
	}
	if (o.failed)
		sim_report_failures(stderr, s, &o);
	if (o.determinism_checked && !o.determinism_ok)
		fprintf(stderr,
			"shoal-sim: determinism check failed: trace %016" PRIx64
			" then %016" PRIx64 " (seed %" PRIu64 ")\n",
			o.trace, o.trace2, sc.seed);
	if (c.out) {
		char why[SIM_WHY_MAX];

		if (sim_report_write(c.out, s, r1.v, &o, why, sizeof(why))) {
			fprintf(stderr, "shoal-sim: %s\n", why);
			rc = EXIT_RUN;
			goto out_outcome;
		}
	}
	rc = (o.failed || (o.determinism_checked && !o.determinism_ok))
		     ? EXIT_EXPECT
		     : 0;
	if (r1.interrupted)
		rc = EXIT_RUN;
out_outcome:
	sim_outcome_release(&o);
out_sim:
	sim_delete(s);
out_log:
	if (logf)
		fclose(logf);
out_sc:
	sim_scenario_release(&sc);
out:
	free(c.sets);
	free(c.lines);
	free(c.dumps);
	return rc;
}
