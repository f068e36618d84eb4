/* SPDX-License-Identifier: MIT */
/*
 * cli/task.c — tasks as process groups on the agent's loop.
 *
 * Each task is a small state machine (struct task_proc):
 *
 *   IDLE ──launch──> RUNNING ──exits by itself──> IDLE (restart timer, or
 *     ^                 │                               done for good)
 *     │                 └──stop──> STOPPING ──reaped──> freed, or launched
 *     └──────────── restart delay ────────┘            again with the spec
 *                                                       a START/RESTART left
 *
 * Nothing here blocks the loop: the exec result comes back through a
 * close-on-exec pipe watched by an ev_io (EOF: the exec happened; four
 * bytes: its errno), the exit through ev_child, the output through an
 * ev_io that appends to the log file, and the stop's SIGKILL through an
 * ev_timer. Everything the child needs (path, argv, environment) is built
 * before fork(), so the child does only async-signal-safe work. The
 * agent's graceful exit stops every task the same way, on the loop
 * (task_driver_stop_all), so a second signal is still heard while a task
 * takes its grace period; only task_driver_shutdown(), which frees
 * whatever is left once the loop has ended, waits in place.
 *
 * Invariants: a slot has at most one task_proc, and a task_proc at most
 * one process; a proc in STOPPING is never launched until reaped (a START
 * that arrives meanwhile is parked in `next`); pid != 0 exactly while a
 * process is alive and unreaped.
 */
#include "cli/task.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/clock.h"
#include "core/err.h"

extern char **environ;

enum phase {
	PH_IDLE,     /* no process: waiting for a restart, or done */
	PH_RUNNING,  /* a process (exec maybe not yet confirmed) */
	PH_STOPPING, /* SIGTERM sent; SIGKILL when kill_w fires */
};

struct task_proc {
	struct task_driver *d;
	struct task_proc *next, *prev;
	char service[SPEC_NAME_MAX + 1];
	uint32_t slot;
	uint64_t digest;
	struct spec spec;
	/* A START / RESTART that arrived while stopping. */
	bool has_next;
	uint64_t next_digest;
	struct spec next_spec;

	enum phase phase;
	bool want;    /* the node still gives us this slot */
	bool removed; /* ... because the service is gone: drop its logs */
	pid_t pid;
	bool exec_ok;	/* the exec happened */
	int exec_errno; /* 0, or why the exec failed */
	char exec_path[TASK_PATH_MAX];
	char why[TASK_MSG_MAX + 1]; /* why it could not start */
	char task_id[48];

	int status_fd, out_fd, log_fd;
	uint64_t log_size;
	ev_io status_w, out_w;
	ev_child child_w;
	ev_timer restart_w, kill_w;

	uint32_t restarts;
	uint32_t win_count;
	uint64_t win_start_ms;
	enum task_state state; /* as last reported */
	int32_t exit_code;
	uint64_t since_ms;	    /* of the last report */
	char msg[TASK_MSG_MAX + 1]; /* of the last report */
	bool reported;
};

/* ---- small helpers ---- */

static uint64_t
now_ms(struct task_driver *d)
{
	return d->ops.now ? d->ops.now(d->ops.ctx) : agent_real_ms();
}

static void
proc_path(const struct task_proc *p, const char *suffix, char *out, size_t cap)
{
	snprintf(out, cap, "%s/%s.%" PRIu32 "%s", p->d->dir, p->service,
		 p->slot, suffix);
}

static void
report(struct task_proc *p, enum task_state s, const char *msg)
{
	struct task_driver *d = p->d;
	struct state_task t;

	p->state = s;
	p->since_ms = now_ms(d);
	p->reported = true;
	snprintf(p->msg, sizeof(p->msg), "%s", msg ? msg : "");
	if (!d->ops.report)
		return;
	memset(&t, 0, sizeof(t));
	t.service = p->service;
	t.slot = p->slot;
	t.state = s;
	t.restarts = p->restarts;
	t.exit_code = p->exit_code;
	t.gen = p->digest;
	t.since_ms = p->since_ms;
	t.msg = p->msg[0] ? p->msg : NULL;
	d->ops.report(d->ops.ctx, &t);
}

static struct task_proc *
find(const struct task_driver *d, const char *service, uint32_t slot)
{
	for (struct task_proc *p = d->procs; p; p = p->next)
		if (p->slot == slot && strcmp(p->service, service) == 0)
			return p;
	return NULL;
}

static void
log_task(struct task_proc *p, enum log_level lvl, const char *msg,
	 const char *k, const char *v)
{
	struct log_rec r;

	if (!log_begin(&r, p->d->log, lvl, msg))
		return;
	log_str(&r, "service", p->service);
	log_u64(&r, "slot", p->slot);
	if (p->pid > 0)
		log_i64(&r, "pid", p->pid);
	if (k)
		log_str(&r, k, v);
	log_end(&r);
}

/* ---- the log file ---- */

static void
log_open(struct task_proc *p)
{
	char path[TASK_PATH_MAX + 96];
	struct stat sb;

	proc_path(p, ".log", path, sizeof(path));
	p->log_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (p->log_fd < 0) {
		p->d->st.log_errors++;
		return;
	}
	p->log_size = fstat(p->log_fd, &sb) == 0 ? (uint64_t)sb.st_size : 0;
}

static void
log_rotate(struct task_proc *p)
{
	char path[TASK_PATH_MAX + 96], old[TASK_PATH_MAX + 96];

	proc_path(p, ".log", path, sizeof(path));
	proc_path(p, ".log.1", old, sizeof(old));
	if (p->log_fd >= 0)
		close(p->log_fd);
	p->log_fd = -1;
	if (rename(path, old))
		unlink(path);
	p->d->st.log_rotations++;
	log_open(p);
}

static void
log_write(struct task_proc *p, const char *b, size_t n)
{
	while (n) {
		size_t room, k;
		ssize_t w;

		if (p->log_fd < 0)
			return;
		if (p->log_size >= p->d->log_max) {
			log_rotate(p);
			continue;
		}
		room = (size_t)(p->d->log_max - p->log_size);
		k = n < room ? n : room;
		w = write(p->log_fd, b, k);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			p->d->st.log_errors++;
			return;
		}
		p->log_size += (uint64_t)w;
		b += w;
		n -= (size_t)w;
	}
}

/* Read at most max bytes of output into the log. true at EOF / error. */
static bool
drain_output(struct task_proc *p, size_t max)
{
	char tmp[8192];
	size_t got = 0;

	while (p->out_fd >= 0 && got < max) {
		ssize_t n = read(p->out_fd, tmp, sizeof(tmp));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return false;
		if (n <= 0)
			return true;
		log_write(p, tmp, (size_t)n);
		got += (size_t)n;
	}
	return false;
}

static void
close_output(struct task_proc *p)
{
	if (p->out_fd >= 0) {
		ev_io_stop(p->d->loop, &p->out_w);
		close(p->out_fd);
		p->out_fd = -1;
	}
}

static void
on_output(struct ev_loop *loop, ev_io *w, int revents)
{
	struct task_proc *p = w->data;

	(void)loop;
	(void)revents;
	if (drain_output(p, TASK_READ_MAX))
		close_output(p);
}

/* ---- launching ---- */

static const char *const base_env[] = {
	"PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "TZ", "TMPDIR",
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define DEFAULT_PATH                                                           \
	"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static bool
env_has_key(const struct spec *s, const char *key)
{
	size_t kn = strlen(key);

	for (uint32_t i = 0; i < s->nenv; i++)
		if (strncmp(s->env[i], key, kn) == 0 && s->env[i][kn] == '=')
			return true;
	return false;
}

/* The child's environment: one allocation of pointers and strings. */
static char **
build_env(struct task_proc *p)
{
	struct task_driver *d = p->d;
	char own[8][160];
	const char *extra[NELEM(base_env)];
	size_t nextra = 0, bytes = 0, n = 0, k = 0;
	char **out, *s;

	for (size_t i = 0; i < NELEM(base_env); i++) {
		const char *v = getenv(base_env[i]);
		char *e;

		if (env_has_key(&p->spec, base_env[i]))
			continue;
		if (!v && strcmp(base_env[i], "PATH") == 0)
			v = DEFAULT_PATH;
		if (!v)
			continue;
		e = malloc(strlen(base_env[i]) + strlen(v) + 2);
		if (!e)
			goto out_fail;
		sprintf(e, "%s=%s", base_env[i], v);
		extra[nextra++] = e;
	}
	snprintf(own[n++], sizeof(own[0]), "SHOAL_SERVICE=%s", p->service);
	snprintf(own[n++], sizeof(own[0]), "SHOAL_SLOT=%" PRIu32, p->slot);
	snprintf(own[n++], sizeof(own[0]), "SHOAL_NODE=%s", d->node);
	snprintf(own[n++], sizeof(own[0]), "SHOAL_CLUSTER=%s", d->cluster);
	snprintf(own[n++], sizeof(own[0]), "SHOAL_TASK_DIGEST=%016" PRIx64,
		 p->digest);
	snprintf(own[n++], sizeof(own[0]), "SHOAL_TASK_RESTARTS=%" PRIu32,
		 p->restarts);
	snprintf(own[n++], sizeof(own[0]), "SHOAL_TASK_ID=%s", p->task_id);
	for (size_t i = 0; i < nextra; i++)
		bytes += strlen(extra[i]) + 1;
	for (uint32_t i = 0; i < p->spec.nenv; i++)
		bytes += strlen(p->spec.env[i]) + 1;
	for (size_t i = 0; i < n; i++)
		bytes += strlen(own[i]) + 1;
	out = malloc((nextra + p->spec.nenv + n + 1) * sizeof(char *) + bytes);
	if (!out)
		goto out_fail;
	s = (char *)(out + nextra + p->spec.nenv + n + 1);
#define PUT(str)                                                               \
	do {                                                                   \
		size_t l_ = strlen(str) + 1;                                   \
		memcpy(s, (str), l_);                                          \
		out[k++] = s;                                                  \
		s += l_;                                                       \
	} while (0)
	for (size_t i = 0; i < nextra; i++)
		PUT(extra[i]);
	for (uint32_t i = 0; i < p->spec.nenv; i++)
		PUT(p->spec.env[i]);
	for (size_t i = 0; i < n; i++)
		PUT(own[i]);
#undef PUT
	out[k] = NULL;
	for (size_t i = 0; i < nextra; i++)
		free((void *)extra[i]);
	return out;
out_fail:
	for (size_t i = 0; i < nextra; i++)
		free((void *)extra[i]);
	return NULL;
}

/* Find the program like execvp would, but before fork: PATH from the
 * task's environment. 0, or an errno. */
static int
resolve(const char *arg0, char *const *env, char *out, size_t cap)
{
	const char *path = DEFAULT_PATH;
	struct stat sb;

	if (strchr(arg0, '/')) {
		if (strlen(arg0) >= cap)
			return ENAMETOOLONG;
		strcpy(out, arg0);
		if (stat(out, &sb))
			return errno;
		return 0;
	}
	for (char *const *e = env; *e; e++)
		if (strncmp(*e, "PATH=", 5) == 0)
			path = *e + 5;
	while (*path) {
		const char *c = strchr(path, ':');
		size_t n = c ? (size_t)(c - path) : strlen(path);
		int w;

		if (n == 0)
			w = snprintf(out, cap, "./%s", arg0);
		else
			w = snprintf(out, cap, "%.*s/%s", (int)n, path, arg0);
		if (w > 0 && (size_t)w < cap && stat(out, &sb) == 0 &&
		    S_ISREG(sb.st_mode) && access(out, X_OK) == 0)
			return 0;
		if (!c)
			break;
		path = c + 1;
	}
	return ENOENT;
}

static void
child_exec(const char *path, char *const *argv, char *const *env, pid_t parent,
	   int devnull, int out_w, int status_w)
{
	sigset_t none;
	int n, o, s, e;

	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127); /* the agent died before we could ask */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	/* Move our three descriptors out of the way, then into place. */
	n = fcntl(devnull, F_DUPFD, 10);
	o = fcntl(out_w, F_DUPFD, 10);
	s = fcntl(status_w, F_DUPFD, 10);
	if (n < 0 || o < 0 || s < 0 || dup2(n, 0) < 0 || dup2(o, 1) < 0 ||
	    dup2(o, 2) < 0 || dup2(s, 3) < 0 || fcntl(3, F_SETFD, FD_CLOEXEC))
		_exit(127);
	close_range(4, ~0u, 0);
	if (chdir("/"))
		_exit(127);
	execve(path, argv, env);
	e = errno;
	if (write(3, &e, sizeof(e)) < 0)
		(void)0;
	_exit(127);
}

static void on_child(struct ev_loop *loop, ev_child *w, int revents);
static void on_status(struct ev_loop *loop, ev_io *w, int revents);
static void exited(struct task_proc *p, int status);

static void
write_pidfile(struct task_proc *p)
{
	char path[TASK_PATH_MAX + 96], tmp[TASK_PATH_MAX + 96], text[96];
	int fd, n;

	proc_path(p, ".pid", path, sizeof(path));
	proc_path(p, ".pid.tmp", tmp, sizeof(tmp));
	n = snprintf(text, sizeof(text), "%ld %s\n", (long)p->pid, p->task_id);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	if (write(fd, text, (size_t)n) != n) {
		close(fd);
		unlink(tmp);
		return;
	}
	close(fd);
	if (rename(tmp, path))
		unlink(tmp);
}

static void
remove_pidfile(struct task_proc *p)
{
	char path[TASK_PATH_MAX + 96];

	proc_path(p, ".pid", path, sizeof(path));
	unlink(path);
}

/* A start that fails before any process exists. */
static void
reject_now(struct task_proc *p, const char *why)
{
	struct task_driver *d = p->d;

	p->exit_code = 0;
	p->exec_errno = -1;
	snprintf(p->why, sizeof(p->why), "%s", why);
	d->st.rejected++;
	log_task(p, LOG_WARN, "task rejected", "error", why);
	exited(p, -1);
}

static void
launch(struct task_proc *p)
{
	struct task_driver *d = p->d;
	int out[2] = {-1, -1}, st[2] = {-1, -1}, devnull = -1;
	char **env = NULL, **argv = NULL;
	char why[TASK_MSG_MAX + 1];
	pid_t parent = getpid(), pid;
	int e;

	p->exec_ok = false;
	p->exec_errno = 0;
	p->exit_code = 0;
	snprintf(p->task_id, sizeof(p->task_id), "%" PRIx64 "-%" PRIu64,
		 d->id_base, ++d->id_seq);
	env = build_env(p);
	argv = calloc(p->spec.nargs + 1, sizeof(*argv));
	if (!env || !argv) {
		snprintf(why, sizeof(why), "out of memory");
		goto out_reject;
	}
	e = resolve(p->spec.args[0], env, p->exec_path, sizeof(p->exec_path));
	if (e) {
		if (e == ENOENT && !strchr(p->spec.args[0], '/'))
			snprintf(why, sizeof(why),
				 "exec: \"%.60s\": executable file not found "
				 "in $PATH",
				 p->spec.args[0]);
		else
			snprintf(why, sizeof(why), "exec: \"%.60s\": %s",
				 p->spec.args[0], strerror(e));
		goto out_reject;
	}
	for (uint32_t i = 0; i < p->spec.nargs; i++)
		argv[i] = p->spec.args[i];
	devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (devnull < 0 || pipe2(out, O_CLOEXEC) || pipe2(st, O_CLOEXEC)) {
		snprintf(why, sizeof(why), "cannot start: %s", strerror(errno));
		goto out_reject;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(why, sizeof(why), "fork: %s", strerror(errno));
		goto out_reject;
	}
	if (pid == 0)
		child_exec(p->exec_path, argv, env, parent, devnull, out[1],
			   st[1]);
	/* Also from here, so kill(-pid) works before the child has run. */
	setpgid(pid, pid);
	close(devnull);
	close(out[1]);
	close(st[1]);
	free(env);
	free(argv);
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	fcntl(st[0], F_SETFL, O_NONBLOCK);
	p->pid = pid;
	p->phase = PH_RUNNING;
	p->out_fd = out[0];
	p->status_fd = st[0];
	if (p->log_fd < 0)
		log_open(p);
	ev_child_init(&p->child_w, on_child, pid, 0);
	p->child_w.data = p;
	ev_child_start(d->loop, &p->child_w);
	ev_io_init(&p->out_w, on_output, p->out_fd, EV_READ);
	p->out_w.data = p;
	ev_io_start(d->loop, &p->out_w);
	ev_io_init(&p->status_w, on_status, p->status_fd, EV_READ);
	p->status_w.data = p;
	ev_io_start(d->loop, &p->status_w);
	d->st.started++;
	write_pidfile(p);
	log_task(p, LOG_INFO, "task started", "cmd", p->exec_path);
	report(p, TASK_STARTING, NULL);
	return;
out_reject:
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (st[i] >= 0)
			close(st[i]);
	}
	if (devnull >= 0)
		close(devnull);
	free(env);
	free(argv);
	reject_now(p, why);
}

/* ---- exits, restarts, stops ---- */

static void
proc_free(struct task_proc *p)
{
	struct task_driver *d = p->d;

	if (p->removed && !d->shutting_down) {
		char path[TASK_PATH_MAX + 96];

		proc_path(p, ".log", path, sizeof(path));
		unlink(path);
		proc_path(p, ".log.1", path, sizeof(path));
		unlink(path);
	}

	ev_child_stop(d->loop, &p->child_w);
	ev_timer_stop(d->loop, &p->restart_w);
	ev_timer_stop(d->loop, &p->kill_w);
	if (p->status_fd >= 0) {
		ev_io_stop(d->loop, &p->status_w);
		close(p->status_fd);
	}
	close_output(p);
	if (p->log_fd >= 0)
		close(p->log_fd);
	if (p->prev)
		p->prev->next = p->next;
	else
		d->procs = p->next;
	if (p->next)
		p->next->prev = p->prev;
	d->nprocs--;
	spec_destroy(&p->spec);
	spec_destroy(&p->next_spec);
	free(p);
}

/* After task_driver_stop_all(): tell the agent once the last task is
 * gone. */
static void
check_stopped_all(struct task_driver *d)
{
	void (*fn)(void *ctx) = d->stopped_all;

	if (!fn || !d->shutting_down || d->nprocs)
		return;
	d->stopped_all = NULL;
	fn(d->stopped_all_ctx);
}

/* Take the parked START / RESTART, if any. */
static bool
take_next(struct task_proc *p)
{
	if (!p->has_next)
		return false;
	spec_destroy(&p->spec);
	p->spec = p->next_spec;
	spec_init(&p->next_spec);
	p->digest = p->next_digest;
	p->has_next = false;
	p->restarts = 0;
	p->win_count = 0;
	return true;
}

static void
on_restart(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct task_proc *p = w->data;
	uint64_t now = now_ms(p->d);

	(void)loop;
	(void)revents;
	if (p->phase != PH_IDLE || !p->want)
		return;
	if (p->win_count == 0)
		p->win_start_ms = now;
	p->win_count++;
	p->restarts++;
	p->d->st.restarts++;
	launch(p);
}

/* May the policy restart it now (attempts left in the window)? */
static bool
attempts_left(struct task_proc *p, uint64_t now)
{
	const struct spec_restart *rp = &p->spec.restart;

	if (rp->max_attempts == 0)
		return true;
	if (rp->window_ms && p->win_count &&
	    now - p->win_start_ms >= rp->window_ms)
		p->win_count = 0;
	return p->win_count < rp->max_attempts;
}

static void
read_status(struct task_proc *p)
{
	int e;
	ssize_t n;

	if (p->status_fd < 0)
		return;
	do
		n = read(p->status_fd, &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return; /* not yet */
	if (n == (ssize_t)sizeof(e))
		p->exec_errno = e ? e : EINVAL;
	else if (n == 0)
		p->exec_ok = p->exec_errno == 0;
	if (n == (ssize_t)sizeof(e)) {
		/* The EOF follows; we need not wait for it. */
		p->exec_ok = false;
	}
	ev_io_stop(p->d->loop, &p->status_w);
	close(p->status_fd);
	p->status_fd = -1;
}

static void
on_status(struct ev_loop *loop, ev_io *w, int revents)
{
	struct task_proc *p = w->data;

	(void)loop;
	(void)revents;
	read_status(p);
	if (p->status_fd >= 0)
		return;
	if (p->exec_ok && p->phase == PH_RUNNING) {
		log_task(p, LOG_DEBUG, "task running", NULL, NULL);
		report(p, TASK_RUNNING, NULL);
	}
}

/* The process is gone (status from waitpid), or never existed (-1). */
static void
exited(struct task_proc *p, int status)
{
	struct task_driver *d = p->d;
	const struct spec_restart *rp = &p->spec.restart;
	uint64_t now = now_ms(d);
	bool stopped = p->phase == PH_STOPPING;
	bool restart = false;
	struct task_exit ex;
	enum task_state s;
	char msg[TASK_MSG_MAX + 1];
	pid_t pid = p->pid;

	msg[0] = '\0';
	if (p->pid > 0) {
		/* Whatever the task left in its group goes with it. */
		kill(-p->pid, SIGKILL);
		ev_child_stop(d->loop, &p->child_w);
		read_status(p);
		drain_output(p, 4 * TASK_READ_MAX);
		close_output(p);
		remove_pidfile(p);
		p->pid = 0;
	}
	ev_timer_stop(d->loop, &p->kill_w);
	if (status >= 0) {
		if (WIFEXITED(status))
			p->exit_code = WEXITSTATUS(status);
		else if (WIFSIGNALED(status))
			p->exit_code = -WTERMSIG(status);
	}
	p->phase = PH_IDLE;
	if (stopped || d->shutting_down) {
		d->st.stopped++;
		log_task(p, LOG_INFO, "task stopped", NULL, NULL);
		report(p, TASK_SHUTDOWN, NULL);
		if (!d->shutting_down && take_next(p)) {
			p->want = true;
			launch(p);
		} else if (!p->want || d->shutting_down) {
			proc_free(p);
			check_stopped_all(d);
		} else {
			launch(p); /* wanted, with nothing newer: again */
		}
		return;
	}
	if (status < 0 || p->exec_errno) {
		s = TASK_REJECTED;
		if (p->exec_errno > 0)
			snprintf(msg, sizeof(msg), "exec: \"%.60s\": %s",
				 p->spec.args[0], strerror(p->exec_errno));
		else
			snprintf(msg, sizeof(msg), "%s", p->why);
		if (status >= 0)
			d->st.rejected++;
	} else {
		d->st.exited++;
		s = p->exit_code == 0 ? TASK_COMPLETE : TASK_FAILED;
		if (s == TASK_FAILED)
			d->st.failed++;
	}
	switch (rp->cond) {
	case SPEC_RESTART_NONE:
		break;
	case SPEC_RESTART_ON_FAILURE:
		restart = s != TASK_COMPLETE;
		break;
	case SPEC_RESTART_ANY:
		restart = true;
		break;
	}
	if (restart && !attempts_left(p, now)) {
		size_t l = strlen(msg);

		restart = false;
		snprintf(msg + l, sizeof(msg) - l,
			 "%srestart limit reached (%" PRIu32 " in the window)",
			 l ? "; " : "", rp->max_attempts);
	}
	{
		struct log_rec r;

		if (log_begin(&r, d->log,
			      s == TASK_COMPLETE ? LOG_INFO : LOG_WARN,
			      "task exited")) {
			log_str(&r, "service", p->service);
			log_u64(&r, "slot", p->slot);
			if (pid > 0)
				log_i64(&r, "pid", pid);
			log_str(&r, "state", task_state_name(s));
			log_i64(&r, "exit", p->exit_code);
			log_u64(&r, "restarts", p->restarts);
			if (restart)
				log_u64(&r, "restart_in_ms", rp->delay_ms);
			else
				log_bool(&r, "final", true);
			if (msg[0])
				log_str(&r, "error", msg);
			log_end(&r);
		}
	}
	report(p, s, msg);
	memset(&ex, 0, sizeof(ex));
	ex.service = p->service;
	ex.slot = p->slot;
	ex.digest = p->digest;
	ex.pid = pid > 0 ? pid : 0;
	ex.state = s;
	ex.exit_code = p->exit_code;
	ex.restarts = p->restarts;
	ex.will_restart = restart;
	ex.restart_in_ms = rp->delay_ms;
	ex.msg = msg[0] ? msg : NULL;
	if (d->ops.exited)
		d->ops.exited(d->ops.ctx, &ex);
	if (restart) {
		ev_timer_set(&p->restart_w, rp->delay_ms / 1000.0, 0.);
		ev_timer_start(d->loop, &p->restart_w);
	}
}

static void
on_child(struct ev_loop *loop, ev_child *w, int revents)
{
	(void)loop;
	(void)revents;
	exited(w->data, w->rstatus);
}

static void
on_kill(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct task_proc *p = w->data;

	(void)loop;
	(void)revents;
	if (p->phase != PH_STOPPING || p->pid <= 0)
		return;
	p->d->st.killed++;
	log_task(p, LOG_WARN, "task did not stop in time: SIGKILL", NULL, NULL);
	kill(-p->pid, SIGKILL);
	kill(p->pid, SIGKILL);
}

/* Begin stopping p (it has a process). */
static void
begin_stop(struct task_proc *p)
{
	struct task_driver *d = p->d;

	if (p->phase != PH_RUNNING)
		return;
	p->phase = PH_STOPPING;
	log_task(p, LOG_INFO, "task stopping", NULL, NULL);
	kill(-p->pid, SIGTERM);
	ev_timer_set(&p->kill_w, d->stop_grace_ms / 1000.0, 0.);
	ev_timer_start(d->loop, &p->kill_w);
}

static struct task_proc *
proc_new(struct task_driver *d, const char *service, uint32_t slot,
	 uint64_t digest, const struct spec *spec)
{
	struct task_proc *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->d = d;
	snprintf(p->service, sizeof(p->service), "%s", service);
	p->slot = slot;
	p->digest = digest;
	spec_init(&p->spec);
	spec_init(&p->next_spec);
	if (spec_copy(&p->spec, spec)) {
		spec_destroy(&p->spec);
		free(p);
		return NULL;
	}
	p->status_fd = p->out_fd = p->log_fd = -1;
	p->want = true;
	ev_init(&p->restart_w, on_restart);
	p->restart_w.data = p;
	ev_init(&p->kill_w, on_kill);
	p->kill_w.data = p;
	p->next = d->procs;
	if (d->procs)
		d->procs->prev = p;
	d->procs = p;
	d->nprocs++;
	return p;
}

/* Report a START we cannot take without making a proc. */
static void
reject_untracked(struct task_driver *d, const char *service, uint32_t slot,
		 uint64_t digest, const char *why)
{
	struct state_task t;
	struct log_rec r;

	d->st.rejected++;
	if (log_begin(&r, d->log, LOG_WARN, "task rejected")) {
		log_str(&r, "service", service);
		log_u64(&r, "slot", slot);
		log_str(&r, "error", why);
		log_end(&r);
	}
	if (!d->ops.report)
		return;
	memset(&t, 0, sizeof(t));
	t.service = service;
	t.slot = slot;
	t.state = TASK_REJECTED;
	t.gen = digest;
	t.since_ms = now_ms(d);
	t.msg = why;
	d->ops.report(d->ops.ctx, &t);
}

/* ---- public ---- */

void
task_driver_start(struct task_driver *d, const char *service, uint32_t slot,
		  uint64_t digest, const struct spec *spec)
{
	struct task_proc *p = find(d, service, slot);

	if (!spec || spec->nargs == 0 || d->shutting_down)
		return;
	if (p) {
		p->want = true;
		p->removed = false;
		if (p->phase == PH_IDLE) {
			/* Waiting to restart, or done: start afresh. */
			ev_timer_stop(d->loop, &p->restart_w);
			p->has_next = false;
			spec_destroy(&p->next_spec);
			if (spec_copy(&p->next_spec, spec) == 0) {
				p->next_digest = digest;
				p->has_next = true;
				take_next(p);
			}
			launch(p);
			return;
		}
		if (p->phase == PH_RUNNING && p->digest == digest &&
		    !p->has_next)
			return; /* already running that */
		spec_destroy(&p->next_spec);
		if (spec_copy(&p->next_spec, spec))
			return;
		p->next_digest = digest;
		p->has_next = true;
		begin_stop(p);
		return;
	}
	if (d->nprocs >= d->max_tasks) {
		char why[TASK_MSG_MAX + 1];

		snprintf(why, sizeof(why),
			 "this agent runs at most %" PRIu32
			 " tasks (--max-tasks)",
			 d->max_tasks);
		reject_untracked(d, service, slot, digest, why);
		return;
	}
	p = proc_new(d, service, slot, digest, spec);
	if (!p) {
		reject_untracked(d, service, slot, digest, "out of memory");
		return;
	}
	launch(p);
}

void
task_driver_restart(struct task_driver *d, const char *service, uint32_t slot,
		    uint64_t digest, const struct spec *spec)
{
	struct task_proc *p = find(d, service, slot);

	if (!p || p->phase == PH_IDLE) {
		task_driver_start(d, service, slot, digest, spec);
		return;
	}
	if (!spec || spec->nargs == 0)
		return;
	spec_destroy(&p->next_spec);
	if (spec_copy(&p->next_spec, spec))
		return;
	p->next_digest = digest;
	p->has_next = true;
	p->want = true;
	p->removed = false;
	begin_stop(p);
}

void
task_driver_stop(struct task_driver *d, const char *service, uint32_t slot,
		 bool removed)
{
	struct task_proc *p = find(d, service, slot);

	if (!p)
		return;
	p->want = false;
	p->removed = removed;
	p->has_next = false;
	spec_destroy(&p->next_spec);
	switch (p->phase) {
	case PH_RUNNING:
		begin_stop(p);
		break;
	case PH_STOPPING:
		break;
	case PH_IDLE:
		d->st.stopped++;
		log_task(p, LOG_INFO, "task stopped", NULL, NULL);
		report(p, TASK_SHUTDOWN, NULL);
		proc_free(p);
		check_stopped_all(d);
		break;
	}
}

unsigned
task_driver_count(const struct task_driver *d)
{
	return d->nprocs;
}

unsigned
task_driver_running(const struct task_driver *d)
{
	unsigned n = 0;

	for (const struct task_proc *p = d->procs; p; p = p->next)
		if (p->pid > 0)
			n++;
	return n;
}

pid_t
task_driver_pid(const struct task_driver *d, const char *service, uint32_t slot)
{
	const struct task_proc *p = find(d, service, slot);

	return p ? p->pid : 0;
}

int
task_driver_init(struct task_driver *d, struct ev_loop *loop,
		 const struct log *log, const struct task_driver_config *cfg,
		 const struct task_driver_ops *ops, char *why, size_t why_cap)
{
	memset(d, 0, sizeof(*d));
	d->loop = loop;
	d->log = log;
	if (ops)
		d->ops = *ops;
	if (!cfg->dir || strlen(cfg->dir) >= sizeof(d->dir) - 96) {
		snprintf(why, why_cap, "task directory path too long");
		return ERR_INVAL;
	}
	strcpy(d->dir, cfg->dir);
	snprintf(d->node, sizeof(d->node), "%s", cfg->node ? cfg->node : "");
	snprintf(d->cluster, sizeof(d->cluster), "%s",
		 cfg->cluster ? cfg->cluster : "");
	d->stop_grace_ms = cfg->stop_grace_ms ? cfg->stop_grace_ms
					      : TASK_STOP_GRACE_DEFAULT_MS;
	d->max_tasks = cfg->max_tasks ? cfg->max_tasks : TASK_MAX_DEFAULT;
	if (d->max_tasks > TASK_MAX_LIMIT)
		d->max_tasks = TASK_MAX_LIMIT;
	d->log_max = cfg->log_max ? cfg->log_max : TASK_LOG_MAX_DEFAULT;
	d->id_base = (agent_real_ms() << 16) ^ (uint64_t)getpid();
	if (mkdir(d->dir, 0700) && errno != EEXIST) {
		snprintf(why, why_cap, "%s: %s", d->dir, strerror(errno));
		return ERR_IO;
	}
	return 0;
}

/* ---- log files of removed services ---- */

unsigned
task_driver_sweep_logs(struct task_driver *d,
		       bool (*gone)(void *ctx, const char *service), void *ctx)
{
	unsigned removed = 0;
	struct dirent *de;
	DIR *dir = opendir(d->dir);

	if (!dir)
		return 0;
	while ((de = readdir(dir))) {
		char svc[SPEC_NAME_MAX + 16], path[TASK_PATH_MAX + 300];
		size_t n = strlen(de->d_name), k;
		bool known = false;

		if (n > 6 && strcmp(de->d_name + n - 6, ".log.1") == 0)
			n -= 6;
		else if (n > 4 && strcmp(de->d_name + n - 4, ".log") == 0)
			n -= 4;
		else
			continue;
		/* SERVICE.SLOT: the slot is the digits after the last dot. */
		for (k = n; k > 0 && de->d_name[k - 1] >= '0' &&
			    de->d_name[k - 1] <= '9';
		     k--)
			;
		if (k == n || k < 2 || de->d_name[k - 1] != '.' ||
		    k - 1 > SPEC_NAME_MAX)
			continue;
		memcpy(svc, de->d_name, k - 1);
		svc[k - 1] = '\0';
		if (!spec_name_valid(svc, k - 1))
			continue;
		for (struct task_proc *p = d->procs; p && !known; p = p->next)
			known = strcmp(p->service, svc) == 0;
		if (known || !gone(ctx, svc))
			continue;
		snprintf(path, sizeof(path), "%s/%s", d->dir, de->d_name);
		if (unlink(path) == 0)
			removed++;
	}
	closedir(dir);
	return removed;
}

/* ---- leftovers of a previous run ---- */

/* Does /proc/PID/environ hold the entry `want` (a whole NUL-separated
 * entry)? */
static bool
environ_has(const char *pid, const char *want)
{
	char path[300];
	char *buf;
	size_t cap = 65536, len = 0, wl = strlen(want);
	bool found = false;
	int fd;

	snprintf(path, sizeof(path), "/proc/%s/environ", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	buf = malloc(cap + 1);
	if (!buf) {
		close(fd);
		return false;
	}
	while (len < cap) {
		ssize_t n = read(fd, buf + len, cap - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	for (size_t i = 0; i < len && !found;) {
		size_t el = strnlen(buf + i, len - i);

		found = el == wl && memcmp(buf + i, want, wl) == 0;
		i += el + 1;
	}
	free(buf);
	return found;
}

/* The process group of /proc/PID/stat, or -1. */
static long
proc_pgrp(const char *pid)
{
	char path[300], buf[1024];
	const char *rp;
	long pgrp = -1;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%s/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* "pid (comm) state ppid pgrp ...": comm may hold anything. */
	rp = strrchr(buf, ')');
	if (!rp || sscanf(rp + 1, " %*c %*d %ld", &pgrp) != 1)
		return -1;
	return pgrp;
}

static unsigned
kill_group_with_id(long pgid, const char *task_id)
{
	char want[80];
	unsigned killed = 0;
	struct dirent *de;
	DIR *proc;

	snprintf(want, sizeof(want), "SHOAL_TASK_ID=%s", task_id);
	proc = opendir("/proc");
	if (!proc)
		return 0;
	while ((de = readdir(proc))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		if (proc_pgrp(de->d_name) != pgid)
			continue;
		if (!environ_has(de->d_name, want))
			continue;
		if (kill((pid_t)atol(de->d_name), SIGKILL) == 0)
			killed++;
	}
	closedir(proc);
	return killed;
}

unsigned
task_driver_reap_stale(struct task_driver *d)
{
	unsigned killed = 0;
	struct dirent *de;
	DIR *dir = opendir(d->dir);

	if (!dir)
		return 0;
	while ((de = readdir(dir))) {
		size_t n = strlen(de->d_name);
		char path[TASK_PATH_MAX + 300], text[128], id[64];
		long pgid = 0;
		ssize_t got;
		int fd;

		if (n < 5 || strcmp(de->d_name + n - 4, ".pid") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", d->dir, de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		got = read(fd, text, sizeof(text) - 1);
		close(fd);
		if (got > 0) {
			text[got] = '\0';
			if (sscanf(text, "%ld %63s", &pgid, id) == 2 &&
			    pgid > 1)
				killed += kill_group_with_id(pgid, id);
		}
		unlink(path);
	}
	closedir(dir);
	d->st.stale_killed += killed;
	if (killed) {
		struct log_rec r;

		if (log_begin(&r, d->log, LOG_WARN,
			      "killed task processes a previous agent left "
			      "running")) {
			log_u64(&r, "processes", killed);
			log_end(&r);
		}
	}
	return killed;
}

/* ---- shutdown ---- */

unsigned
task_driver_stop_all(struct task_driver *d, void (*done)(void *ctx), void *ctx)
{
	struct task_proc *p, *next;
	unsigned stopping = 0;

	d->shutting_down = true;
	d->stopped_all = done;
	d->stopped_all_ctx = ctx;
	for (p = d->procs; p; p = next) {
		next = p->next;
		ev_timer_stop(d->loop, &p->restart_w);
		p->want = false;
		p->has_next = false;
		switch (p->phase) {
		case PH_RUNNING:
			begin_stop(p);
			stopping++;
			break;
		case PH_STOPPING:
			stopping++; /* its SIGKILL timer is already running */
			break;
		case PH_IDLE:
			proc_free(p); /* no process: nothing to wait for */
			break;
		}
	}
	check_stopped_all(d);
	return stopping;
}

void
task_driver_shutdown(struct task_driver *d, uint32_t grace_ms)
{
	uint64_t deadline = agent_mono_ms() + grace_ms;
	unsigned alive;

	d->shutting_down = true;
	d->stopped_all = NULL;
	for (struct task_proc *p = d->procs; p; p = p->next) {
		ev_child_stop(d->loop, &p->child_w);
		ev_timer_stop(d->loop, &p->restart_w);
		ev_timer_stop(d->loop, &p->kill_w);
		if (p->pid > 0)
			kill(-p->pid, grace_ms ? SIGTERM : SIGKILL);
	}
	for (int round = 0;; round++) {
		alive = 0;
		for (struct task_proc *p = d->procs; p; p = p->next) {
			int status;
			pid_t r;

			if (p->pid <= 0)
				continue;
			drain_output(p, TASK_READ_MAX);
			r = waitpid(p->pid, &status, WNOHANG);
			if (r == p->pid || (r < 0 && errno == ECHILD)) {
				kill(-p->pid, SIGKILL);
				drain_output(p, TASK_READ_MAX);
				remove_pidfile(p);
				p->pid = 0;
				continue;
			}
			alive++;
		}
		if (!alive)
			break;
		if (agent_mono_ms() >= deadline) {
			if (agent_mono_ms() >= deadline + 2000)
				break; /* unkillable (D state): give up */
			for (struct task_proc *p = d->procs; p; p = p->next)
				if (p->pid > 0)
					kill(-p->pid, SIGKILL);
		}
		poll(NULL, 0, 20);
	}
	if (d->nprocs) {
		struct log_rec r;

		if (log_begin(&r, d->log, alive ? LOG_WARN : LOG_INFO,
			      "tasks stopped")) {
			log_u64(&r, "tasks", d->nprocs);
			if (alive)
				log_u64(&r, "unkillable", alive);
			log_end(&r);
		}
	}
	while (d->procs)
		proc_free(d->procs);
}
