/* SPDX-License-Identifier: MIT */
/*
 * cli/handler.c — fork/exec of event handlers on the agent's loop.
 *
 * Everything a run needs (its environment, its stdin) is built before
 * fork(), so the child does only async-signal-safe work: a new process
 * group (so a timeout can kill the handler and whatever it spawned), the
 * standard descriptors, a clean signal state (libev blocks the signals it
 * watches, and ignored dispositions survive exec), closing every other
 * descriptor, and execve. The parent never waits: ev_child reports the
 * exit, an ev_io drains the output pipe, an ev_timer enforces the timeout.
 *
 * A run is finished when its child has exited; output still buffered in
 * the pipe is drained then, and the pipe is closed even if a grandchild
 * still holds the write end (the handler's own children are its business).
 *
 * Bounds: specs (HANDLER_SPECS_MAX), running children (concurrency),
 * waiting jobs (queue_max), bytes logged per run (HANDLER_OUTPUT_MAX),
 * line length (HANDLER_LINE_MAX), stdin size (HANDLER_STDIN_MAX).
 */
#include "cli/handler.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/clock.h"
#include "core/err.h"

extern char **environ;

static const char *const known_events[] = {
	"member-join", "member-leave",	 "member-failed", "member-update",
	"member-reap", "member-suspect", "member-alive",  "member-conflict",
	"manager",     "task-start",	 "task-stop",	  "task-restart",
	"task-exit",   "task-failed",
};

static const char *const default_events[] = {
	"member-join",	 "member-leave", "member-failed",
	"member-update", "member-reap",
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

bool
handler_event_known(const char *event)
{
	for (size_t i = 0; i < NELEM(known_events); i++)
		if (strcmp(known_events[i], event) == 0)
			return true;
	return false;
}

/* Is text[0..n) a filter list ("member-join,member-leave" or "*")? */
static bool
looks_like_filter(const char *text, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = text[i];

		if (!((c >= 'a' && c <= 'z') || c == '-' || c == ',' ||
		      c == '*'))
			return false;
	}
	return true;
}

int
handler_spec_parse(struct handler_spec *spec, const char *text, char *why,
		   size_t why_cap)
{
	const char *eq = strchr(text, '=');
	const char *cmd = text;

	memset(spec, 0, sizeof(*spec));
	why[0] = '\0';
	if (eq && looks_like_filter(text, (size_t)(eq - text))) {
		const char *p = text;

		while (p < eq) {
			const char *c = memchr(p, ',', (size_t)(eq - p));
			size_t n = (size_t)((c ? c : eq) - p);
			char name[HANDLER_EVENT_MAX];

			if (n == 0 || n >= sizeof(name)) {
				snprintf(why, why_cap,
					 "bad event list in \"%.60s\"", text);
				return ERR_INVAL;
			}
			memcpy(name, p, n);
			name[n] = '\0';
			if (strcmp(name, "*") == 0) {
				spec->all = true;
			} else if (!handler_event_known(name)) {
				snprintf(why, why_cap,
					 "unknown event \"%s\" (known: "
					 "member-join, member-leave, "
					 "member-failed, member-update, "
					 "member-reap, member-suspect, "
					 "member-alive, member-conflict, "
					 "manager, task-start, task-stop, "
					 "task-restart, task-exit, "
					 "task-failed, *)",
					 name);
				return ERR_INVAL;
			} else if (spec->nfilter < HANDLER_FILTER_MAX) {
				strcpy(spec->filter[spec->nfilter++], name);
			}
			p = c ? c + 1 : eq;
		}
		cmd = eq + 1;
	}
	while (*cmd == ' ' || *cmd == '\t')
		cmd++;
	if (!*cmd) {
		snprintf(why, why_cap, "empty command in \"%.60s\"", text);
		return ERR_INVAL;
	}
	if (strlen(cmd) >= sizeof(spec->cmd)) {
		snprintf(why, why_cap, "command too long");
		return ERR_INVAL;
	}
	strcpy(spec->cmd, cmd);
	return 0;
}

bool
handler_spec_matches(const struct handler_spec *spec, const char *event)
{
	if (spec->all)
		return true;
	if (spec->nfilter == 0) {
		for (size_t i = 0; i < NELEM(default_events); i++)
			if (strcmp(default_events[i], event) == 0)
				return true;
		return false;
	}
	for (unsigned i = 0; i < spec->nfilter; i++)
		if (strcmp(spec->filter[i], event) == 0)
			return true;
	return false;
}

int
handler_runner_init(struct handler_runner *r, struct ev_loop *loop,
		    const struct log *log, const struct handler_config *cfg,
		    const char (*specs)[HANDLER_CMD_MAX], unsigned n, char *why,
		    size_t why_cap)
{
	memset(r, 0, sizeof(*r));
	r->loop = loop;
	r->log = log;
	r->cfg.timeout_ms = 60000;
	r->cfg.concurrency = 1;
	r->cfg.queue_max = 256;
	if (cfg) {
		if (cfg->timeout_ms)
			r->cfg.timeout_ms = cfg->timeout_ms;
		if (cfg->concurrency)
			r->cfg.concurrency = cfg->concurrency;
		if (cfg->queue_max)
			r->cfg.queue_max = cfg->queue_max;
	}
	if (r->cfg.concurrency > HANDLER_CONCURRENCY_MAX)
		r->cfg.concurrency = HANDLER_CONCURRENCY_MAX;
	if (n > HANDLER_SPECS_MAX) {
		snprintf(why, why_cap, "more than %d event handlers",
			 HANDLER_SPECS_MAX);
		return ERR_INVAL;
	}
	for (unsigned i = 0; i < n; i++) {
		int rc = handler_spec_parse(&r->specs[i], specs[i], why,
					    why_cap);

		if (rc)
			return rc;
	}
	r->nspecs = n;
	for (unsigned i = 0; i < HANDLER_CONCURRENCY_MAX; i++) {
		r->runs[i].r = r;
		r->runs[i].out_fd = -1;
	}
	return 0;
}

static void
job_free(struct handler_job *j)
{
	if (!j)
		return;
	free(j->env);
	free(j->stdin_text);
	free(j);
}

bool
handler_runner_wants(const struct handler_runner *r, const char *event)
{
	for (unsigned i = 0; i < r->nspecs; i++)
		if (handler_spec_matches(&r->specs[i], event))
			return true;
	return false;
}

unsigned
handler_runner_pending(const struct handler_runner *r)
{
	unsigned n = r->queued;

	for (unsigned i = 0; i < r->cfg.concurrency; i++)
		if (r->runs[i].job)
			n++;
	return n;
}

/* The child's environment: ours minus the names in extra, plus extra.
 * One allocation holding the pointer array and the strings of extra. */
static char **
build_env(const char *const *extra, size_t nextra)
{
	size_t nenv = 0, bytes = 0, k = 0;
	char **out;
	char *strs;

	for (char **e = environ; e && *e; e++)
		nenv++;
	for (size_t i = 0; i < nextra; i++)
		bytes += strlen(extra[i]) + 1;
	out = malloc((nenv + nextra + 1) * sizeof(char *) + bytes);
	if (!out)
		return NULL;
	strs = (char *)(out + nenv + nextra + 1);
	for (char **e = environ; e && *e; e++) {
		const char *eq = strchr(*e, '=');
		size_t nl = eq ? (size_t)(eq - *e) : strlen(*e);
		bool overridden = false;

		for (size_t i = 0; i < nextra && !overridden; i++)
			overridden = strncmp(extra[i], *e, nl) == 0 &&
				     extra[i][nl] == '=';
		/* The key itself never reaches a handler. */
		if (nl == 9 && strncmp(*e, "SHOAL_KEY", 9) == 0)
			overridden = true;
		if (!overridden)
			out[k++] = *e;
	}
	for (size_t i = 0; i < nextra; i++) {
		size_t n = strlen(extra[i]) + 1;

		memcpy(strs, extra[i], n);
		out[k++] = strs;
		strs += n;
	}
	out[k] = NULL;
	return out;
}

static void start_next(struct handler_runner *r);

static void
log_line(struct handler_run *run)
{
	struct log_rec rec;

	if (run->linelen == 0)
		return;
	if (log_begin(&rec, run->r->log, LOG_INFO, "handler output")) {
		log_str(&rec, "event", run->job->event);
		log_i64(&rec, "pid", run->pid);
		log_strn(&rec, "line", run->line, run->linelen);
		log_end(&rec);
	}
	run->linelen = 0;
}

/* Read what the pipe holds now; log complete lines. */
static void
drain_output(struct handler_run *run)
{
	char tmp[4096];

	if (run->out_fd < 0)
		return;
	for (int rounds = 0; rounds < 64; rounds++) {
		ssize_t n = read(run->out_fd, tmp, sizeof(tmp));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0 ||
			    (errno != EAGAIN && errno != EWOULDBLOCK)) {
				ev_io_stop(run->r->loop, &run->out);
				close(run->out_fd);
				run->out_fd = -1;
			}
			return;
		}
		for (ssize_t i = 0; i < n; i++) {
			char c = tmp[i];

			if (run->logged >= HANDLER_OUTPUT_MAX)
				break;
			run->logged++;
			if (c == '\n') {
				log_line(run);
				continue;
			}
			if (run->linelen < HANDLER_LINE_MAX)
				run->line[run->linelen++] = c;
			else {
				log_line(run);
				run->line[run->linelen++] = c;
			}
		}
	}
}

static void
on_output(struct ev_loop *loop, ev_io *w, int revents)
{
	struct handler_run *run = w->data;

	(void)loop;
	(void)revents;
	drain_output(run);
}

static void
finish(struct handler_run *run, int status)
{
	struct handler_runner *r = run->r;
	struct log_rec rec;
	bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	enum log_level lvl = ok ? LOG_INFO : LOG_WARN;

	ev_child_stop(r->loop, &run->child);
	ev_timer_stop(r->loop, &run->timer);
	drain_output(run);
	if (run->out_fd >= 0) {
		ev_io_stop(r->loop, &run->out);
		close(run->out_fd);
		run->out_fd = -1;
	}
	log_line(run);
	if (run->logged >= HANDLER_OUTPUT_MAX &&
	    log_begin(&rec, r->log, LOG_WARN,
		      "handler output "
		      "truncated")) {
		log_str(&rec, "event", run->job->event);
		log_i64(&rec, "pid", run->pid);
		log_end(&rec);
	}
	if (!ok)
		r->failed++;
	if (log_begin(&rec, r->log, lvl, "handler done")) {
		log_str(&rec, "event", run->job->event);
		log_i64(&rec, "pid", run->pid);
		if (WIFEXITED(status))
			log_i64(&rec, "exit", WEXITSTATUS(status));
		else if (WIFSIGNALED(status))
			log_i64(&rec, "signal", WTERMSIG(status));
		if (run->timed_out)
			log_bool(&rec, "timeout", true);
		log_u64(&rec, "ms", agent_mono_ms() - run->start_ms);
		log_end(&rec);
	}
	job_free(run->job);
	run->job = NULL;
	run->pid = 0;
	start_next(r);
}

static void
on_child(struct ev_loop *loop, ev_child *w, int revents)
{
	(void)loop;
	(void)revents;
	finish(w->data, w->rstatus);
}

static void
on_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct handler_run *run = w->data;
	struct log_rec rec;

	(void)loop;
	(void)revents;
	if (!run->job || run->pid <= 0)
		return;
	run->timed_out = true;
	run->r->timeouts++;
	if (log_begin(&rec, run->r->log, LOG_WARN, "handler timed out")) {
		log_str(&rec, "event", run->job->event);
		log_i64(&rec, "pid", run->pid);
		log_u64(&rec, "timeout_ms", run->r->cfg.timeout_ms);
		log_end(&rec);
	}
	kill(-run->pid, SIGKILL);
	kill(run->pid, SIGKILL);
}

static void
child_exec(const struct handler_spec *spec, char **env, int in_fd, int out_fd)
{
	sigset_t none;
	char *argv[4];

	setpgid(0, 0);
	if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0)
		_exit(126);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int s = 1; s < NSIG; s++)
		signal(s, SIG_DFL);
	close_range(3, ~0u, 0);
	argv[0] = (char *)"sh";
	argv[1] = (char *)"-c";
	argv[2] = (char *)spec->cmd;
	argv[3] = NULL;
	execve("/bin/sh", argv, env);
	_exit(127);
}

/* Start job in run. false (job freed, counted) if it could not start. */
static bool
spawn(struct handler_runner *r, struct handler_run *run,
      struct handler_job *job)
{
	int in[2] = {-1, -1}, out[2] = {-1, -1};
	struct log_rec rec;
	pid_t pid;

	if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC))
		goto out_fail;
	pid = fork();
	if (pid < 0)
		goto out_fail;
	if (pid == 0)
		child_exec(&r->specs[job->spec], job->env, in[0], out[1]);
	/* Also from the parent, so kill(-pid) works even if the child has
	 * not run yet. EACCES after its exec is harmless. */
	setpgid(pid, pid);
	close(in[0]);
	close(out[1]);
	if (job->stdin_len) {
		fcntl(in[1], F_SETFL, O_NONBLOCK);
		/* A pipe holds 64 KiB; stdin is cut at 16 KiB. A handler that
		 * exits without reading it gives EPIPE: fine. */
		if (write(in[1], job->stdin_text, job->stdin_len) < 0)
			(void)0;
	}
	close(in[1]);
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	run->job = job;
	run->pid = pid;
	run->out_fd = out[0];
	run->start_ms = agent_mono_ms();
	run->logged = 0;
	run->linelen = 0;
	run->timed_out = false;
	ev_child_init(&run->child, on_child, pid, 0);
	run->child.data = run;
	ev_child_start(r->loop, &run->child);
	ev_io_init(&run->out, on_output, out[0], EV_READ);
	run->out.data = run;
	ev_io_start(r->loop, &run->out);
	ev_timer_init(&run->timer, on_timeout, r->cfg.timeout_ms / 1000.0, 0.);
	run->timer.data = run;
	ev_timer_start(r->loop, &run->timer);
	r->started++;
	if (log_begin(&rec, r->log, LOG_DEBUG, "handler started")) {
		log_str(&rec, "event", job->event);
		log_i64(&rec, "pid", pid);
		log_str(&rec, "cmd", r->specs[job->spec].cmd);
		log_end(&rec);
	}
	return true;
out_fail:
	if (log_begin(&rec, r->log, LOG_ERROR, "handler could not start")) {
		log_str(&rec, "event", job->event);
		log_str(&rec, "error", strerror(errno));
		log_end(&rec);
	}
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
	}
	r->spawn_errors++;
	job_free(job);
	return false;
}

static void
start_next(struct handler_runner *r)
{
	for (unsigned i = 0; i < r->cfg.concurrency && r->head; i++) {
		struct handler_run *run = &r->runs[i];
		struct handler_job *job;

		if (run->job)
			continue;
		job = r->head;
		r->head = job->next;
		if (!r->head)
			r->tail = NULL;
		r->queued--;
		job->next = NULL;
		if (!spawn(r, run, job))
			i--; /* the slot is still free: try the next job */
	}
}

int
handler_submit(struct handler_runner *r, const char *event,
	       const char *const *env, size_t nenv, const char *stdin_text,
	       size_t stdin_len)
{
	int queued = 0;

	if (nenv > HANDLER_ENV_MAX)
		nenv = HANDLER_ENV_MAX;
	if (stdin_len > HANDLER_STDIN_MAX)
		stdin_len = HANDLER_STDIN_MAX;
	for (unsigned s = 0; s < r->nspecs; s++) {
		struct handler_job *job;

		if (!handler_spec_matches(&r->specs[s], event))
			continue;
		if (r->queued >= r->cfg.queue_max) {
			struct log_rec rec;

			r->dropped++;
			if (log_begin(&rec, r->log, LOG_WARN,
				      "handler queue full, event dropped")) {
				log_str(&rec, "event", event);
				log_u64(&rec, "queued", r->queued);
				log_u64(&rec, "dropped", r->dropped);
				log_end(&rec);
			}
			return ERR_FULL;
		}
		job = calloc(1, sizeof(*job));
		if (!job)
			return ERR_NOMEM;
		job->spec = s;
		snprintf(job->event, sizeof(job->event), "%s", event);
		job->env = build_env(env, nenv);
		if (stdin_len) {
			job->stdin_text = malloc(stdin_len);
			if (job->stdin_text) {
				memcpy(job->stdin_text, stdin_text, stdin_len);
				job->stdin_len = stdin_len;
			}
		}
		if (!job->env || (stdin_len && !job->stdin_text)) {
			job_free(job);
			return ERR_NOMEM;
		}
		if (r->tail)
			r->tail->next = job;
		else
			r->head = job;
		r->tail = job;
		r->queued++;
		queued++;
	}
	start_next(r);
	return queued;
}

void
handler_runner_destroy(struct handler_runner *r)
{
	struct handler_job *j = r->head;

	while (j) {
		struct handler_job *next = j->next;

		job_free(j);
		j = next;
	}
	r->head = r->tail = NULL;
	r->queued = 0;
	for (unsigned i = 0; i < HANDLER_CONCURRENCY_MAX; i++) {
		struct handler_run *run = &r->runs[i];

		if (!run->job)
			continue;
		kill(-run->pid, SIGTERM);
		ev_child_stop(r->loop, &run->child);
		ev_timer_stop(r->loop, &run->timer);
		if (run->out_fd >= 0) {
			ev_io_stop(r->loop, &run->out);
			close(run->out_fd);
			run->out_fd = -1;
		}
		job_free(run->job);
		run->job = NULL;
	}
}
