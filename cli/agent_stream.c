/* SPDX-License-Identifier: MIT */
/*
 * cli/agent_stream.c — gossip's TCP streams: one framed request, one framed
 * response, then close.
 *
 * Push-pull and join exchange whole membership tables, which do not fit in
 * a datagram, so the node asks for a stream: SWIM_OUT_STREAM_REQ means
 * "connect to `to`, send this frame, hand me the one frame that comes
 * back" and SWIM_OUT_STREAM_RESP means "write this frame on inbound
 * connection `stream_id`, then close". Frames are cli/frame.h (u32
 * big-endian length + sealed bytes).
 *
 * Each connection is a small state machine on the loop, never blocking:
 *
 *   outbound: CONNECTING -> WRITING -> READING -> done
 *             (node_stream_reply, or node_stream_failed on any error)
 *   inbound:  READING -> (node_recv_stream) -> WRITING -> done
 *             (closed at once when the node has no answer)
 *
 * Limits: a frame larger than the profile's stream_max is refused as soon
 * as its length arrives, and so is one that would take the bytes buffered
 * by all streams together past AGENT_STREAM_BYTES_MAX (the length prefix
 * is not authenticated, so without this 64 connections could each make us
 * buffer stream_max); a connection that has not finished within
 * stream_timeout_ms is cut; at most AGENT_STREAMS_IN_MAX inbound and
 * AGENT_STREAMS_OUT_MAX outbound connections exist at once (beyond that an
 * inbound connection is closed on accept and an outbound request fails at
 * once). Inbound connections get ids from a counter of our own; outbound
 * ones carry the node's stream id.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli/agent.h"
#include "cli/frame.h"
#include "cli/net.h"
#include "core/err.h"

enum stream_state {
	ST_CONNECTING,
	ST_WRITING,
	ST_READING,
};

struct agent_stream {
	struct agent *a;
	struct agent_stream *next, *prev;
	bool outbound;
	uint32_t id;
	int fd;
	struct addr peer;
	enum stream_state state;
	ev_io io;
	ev_timer timer;
	struct buf out;
	size_t out_off;
	struct buf in;
	size_t reserved; /* bytes of a->stream_bytes held by this frame */
};

static uint32_t
stream_max(const struct agent *a)
{
	return swim_profile(node_swim(a->node))->stream_max;
}

/* Bytes all streams together may buffer: AGENT_STREAM_BYTES_MAX, or one
 * whole frame if stream_max was set higher. */
static size_t
stream_budget(const struct agent *a)
{
	size_t max = stream_max(a);

	return max > AGENT_STREAM_BYTES_MAX ? max : AGENT_STREAM_BYTES_MAX;
}

static void
link_stream(struct agent *a, struct agent_stream *s)
{
	s->next = a->streams;
	s->prev = NULL;
	if (a->streams)
		a->streams->prev = s;
	a->streams = s;
	if (s->outbound)
		a->nstreams_out++;
	else
		a->nstreams_in++;
}

static void
stream_free(struct agent_stream *s)
{
	struct agent *a = s->a;

	ev_io_stop(a->loop, &s->io);
	ev_timer_stop(a->loop, &s->timer);
	if (s->fd >= 0)
		close(s->fd);
	if (s->prev)
		s->prev->next = s->next;
	else
		a->streams = s->next;
	if (s->next)
		s->next->prev = s->prev;
	if (s->outbound)
		a->nstreams_out--;
	else
		a->nstreams_in--;
	a->stream_bytes -= s->reserved;
	buf_release(&s->out);
	buf_release(&s->in);
	free(s);
}

static void
log_stream(struct agent_stream *s, enum log_level lvl, const char *msg,
	   const char *why)
{
	struct log_rec r;
	char peer[ADDR_STR_MAX];

	if (!log_begin(&r, &s->a->log.lg, lvl, msg))
		return;
	addr_format(&s->peer, peer, sizeof(peer));
	log_str(&r, "peer", peer);
	log_str(&r, "dir", s->outbound ? "out" : "in");
	log_u64(&r, "id", s->id);
	if (why)
		log_str(&r, "error", why);
	log_end(&r);
}

/* Queue a failure to report for an outbound stream (after the drain, so
 * node calls never nest). */
static void
defer_failed(struct agent *a, uint32_t id)
{
	if (a->nfailed < AGENT_FAILED_MAX)
		a->failed[a->nfailed++] = id;
}

/* An outbound stream failed: tell the node and free it. */
static void
out_failed(struct agent_stream *s, const char *why)
{
	struct agent *a = s->a;
	uint32_t id = s->id;

	a->cnt.stream_errors++;
	log_stream(s, LOG_DEBUG, "stream failed", why);
	stream_free(s);
	node_stream_failed(a->node, agent_now(a), id);
	agent_pump(a);
}

static void
set_events(struct agent_stream *s, int events)
{
	struct agent *a = s->a;

	ev_io_stop(a->loop, &s->io);
	ev_io_set(&s->io, s->fd, events);
	ev_io_start(a->loop, &s->io);
}

/* Write what is queued. 1 when all is written, 0 to wait, -1 on error. */
static int
flush_out(struct agent_stream *s)
{
	while (s->out_off < s->out.len) {
		ssize_t w = send(s->fd, s->out.data + s->out_off,
				 s->out.len - s->out_off, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (w < 0)
			return -1;
		s->out_off += (size_t)w;
	}
	return 1;
}

/* Read into s->in until a frame is complete. 1 with the frame, 0 to wait,
 * or a negative error (ERR_TOOBIG, ERR_DECODE, ERR_IO; ERR_TRUNC = EOF). */
static int
read_frame(struct agent_stream *s, const uint8_t **p, size_t *n)
{
	size_t frame_len;

	for (;;) {
		int rc = frame_next(s->in.data, s->in.len, stream_max(s->a), p,
				    n, &frame_len);
		size_t want;
		uint8_t *dst;
		ssize_t got;

		if (rc)
			return rc;
		/* Read no further than the end of this frame. */
		if (s->in.len < FRAME_HDR_LEN) {
			want = FRAME_HDR_LEN - s->in.len;
		} else {
			size_t len = frame_get_u32(s->in.data);

			/* The length is not authenticated: before buffering
			 * a frame, take its size from the budget shared by
			 * all streams. */
			if (!s->reserved) {
				if (s->a->stream_bytes + len >
				    stream_budget(s->a))
					return ERR_FULL;
				s->reserved = len;
				s->a->stream_bytes += len;
			}
			want = FRAME_HDR_LEN + len - s->in.len;
		}
		if (want > 65536)
			want = 65536;
		if (buf_reserve(&s->in, want))
			return ERR_TOOBIG;
		dst = s->in.data + s->in.len;
		got = recv(s->fd, dst, want, 0);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (got < 0)
			return ERR_IO;
		if (got == 0)
			return ERR_TRUNC;
		s->in.len += (size_t)got;
	}
}

static const char *
frame_error(int rc)
{
	switch (rc) {
	case ERR_TOOBIG:
		return "frame larger than stream_max";
	case ERR_DECODE:
		return "empty frame";
	case ERR_TRUNC:
		return "connection closed before a whole frame";
	case ERR_FULL:
		return "stream memory budget exhausted";
	default:
		return strerror(errno);
	}
}

static void
on_stream_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct agent_stream *s = w->data;

	(void)loop;
	(void)revents;
	s->a->cnt.stream_timeouts++;
	if (s->outbound) {
		out_failed(s, "timeout");
		return;
	}
	log_stream(s, LOG_DEBUG, "stream timed out", NULL);
	stream_free(s);
}

/* ---- outbound ---- */

static void
on_out_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct agent_stream *s = w->data;
	struct agent *a = s->a;
	const uint8_t *p;
	size_t n;
	int rc;

	(void)loop;
	(void)revents;
	if (s->state == ST_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);

		if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) ||
		    err) {
			out_failed(s, strerror(err ? err : errno));
			return;
		}
		s->state = ST_WRITING;
	}
	if (s->state == ST_WRITING) {
		rc = flush_out(s);
		if (rc < 0) {
			out_failed(s, strerror(errno));
			return;
		}
		if (rc == 0) {
			set_events(s, EV_WRITE);
			return;
		}
		s->state = ST_READING;
		buf_release(&s->out);
		set_events(s, EV_READ);
	}
	rc = read_frame(s, &p, &n);
	if (rc == 0)
		return;
	if (rc < 0) {
		if (rc == ERR_TOOBIG || rc == ERR_FULL)
			a->cnt.stream_toobig++;
		out_failed(s, frame_error(rc));
		return;
	}
	{
		uint32_t id = s->id;

		/* The node copies what it keeps; free after the call. */
		ev_io_stop(a->loop, &s->io);
		ev_timer_stop(a->loop, &s->timer);
		node_stream_reply(a->node, agent_now(a), id, p, n);
		stream_free(s);
		agent_pump(a);
	}
}

static void
start_outbound(struct agent *a, const struct swim_out *out)
{
	struct agent_stream *s;
	int err = 0;

	if (a->nstreams_out >= AGENT_STREAMS_OUT_MAX) {
		a->cnt.streams_out_refused++;
		defer_failed(a, out->stream_id);
		return;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		defer_failed(a, out->stream_id);
		return;
	}
	s->a = a;
	s->outbound = true;
	s->id = out->stream_id;
	s->peer = out->to;
	s->fd = -1;
	buf_init(&s->out, (size_t)stream_max(a) + FRAME_HDR_LEN);
	buf_init(&s->in, (size_t)stream_max(a) + FRAME_HDR_LEN);
	if (out->len > stream_max(a) ||
	    (err = frame_append(&s->out, out->data, out->len)) != 0) {
		buf_release(&s->out);
		buf_release(&s->in);
		free(s);
		a->cnt.stream_toobig++;
		defer_failed(a, out->stream_id);
		return;
	}
	s->fd = net_connect(&out->to);
	if (s->fd < 0) {
		a->cnt.stream_errors++;
		buf_release(&s->out);
		buf_release(&s->in);
		free(s);
		defer_failed(a, out->stream_id);
		return;
	}
	link_stream(a, s);
	a->cnt.streams_out++;
	s->state = ST_CONNECTING;
	ev_io_init(&s->io, on_out_io, s->fd, EV_WRITE);
	s->io.data = s;
	ev_io_start(a->loop, &s->io);
	ev_timer_init(&s->timer, on_stream_timeout,
		      swim_profile(node_swim(a->node))->stream_timeout_ms /
			      1000.0,
		      0.);
	s->timer.data = s;
	ev_timer_start(a->loop, &s->timer);
}

/* ---- inbound ---- */

static struct agent_stream *
find_inbound(struct agent *a, uint32_t id)
{
	for (struct agent_stream *s = a->streams; s; s = s->next)
		if (!s->outbound && s->id == id)
			return s;
	return NULL;
}

static void
on_in_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct agent_stream *s = w->data;
	struct agent *a = s->a;
	const uint8_t *p;
	size_t n;
	uint32_t id = s->id;
	int rc;

	(void)loop;
	(void)revents;
	if (s->state == ST_WRITING) {
		rc = flush_out(s);
		if (rc == 0)
			return;
		if (rc < 0)
			log_stream(s, LOG_DEBUG, "stream write failed",
				   strerror(errno));
		stream_free(s);
		return;
	}
	rc = read_frame(s, &p, &n);
	if (rc == 0)
		return;
	if (rc < 0) {
		if (rc == ERR_TOOBIG || rc == ERR_FULL)
			a->cnt.stream_toobig++;
		log_stream(s, LOG_DEBUG, "stream refused", frame_error(rc));
		stream_free(s);
		return;
	}
	/* A whole request: hand it to the node. Its answer, if any, comes
	 * out of the outbox during the pump as STREAM_RESP with our id. */
	ev_io_stop(a->loop, &s->io);
	s->state = ST_READING;
	node_recv_stream(a->node, agent_now(a), id, &s->peer, p, n);
	agent_pump(a);
	s = find_inbound(a, id);
	if (s && s->state != ST_WRITING)
		stream_free(s); /* no answer: nothing more to say */
}

void
agent_stream_accept(struct agent *a)
{
	for (int i = 0; i < 16; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		struct agent_stream *s;
		int fd = accept4(a->tcp_fd, (struct sockaddr *)&ss, &sl,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return;
		}
		if (a->nstreams_in >= AGENT_STREAMS_IN_MAX || a->stopping) {
			a->cnt.streams_in_refused++;
			close(fd);
			continue;
		}
		s = calloc(1, sizeof(*s));
		if (!s) {
			close(fd);
			continue;
		}
		s->a = a;
		s->fd = fd;
		s->outbound = false;
		s->id = ++a->next_conn_id;
		net_addr((struct sockaddr *)&ss, sl, &s->peer);
		buf_init(&s->in, (size_t)stream_max(a) + FRAME_HDR_LEN);
		buf_init(&s->out, (size_t)stream_max(a) + FRAME_HDR_LEN);
		link_stream(a, s);
		a->cnt.streams_in++;
		s->state = ST_READING;
		ev_io_init(&s->io, on_in_io, fd, EV_READ);
		s->io.data = s;
		ev_io_start(a->loop, &s->io);
		ev_timer_init(
			&s->timer, on_stream_timeout,
			swim_profile(node_swim(a->node))->stream_timeout_ms /
				1000.0,
			0.);
		s->timer.data = s;
		ev_timer_start(a->loop, &s->timer);
	}
}

static void
start_response(struct agent *a, const struct swim_out *out)
{
	struct agent_stream *s = find_inbound(a, out->stream_id);
	int rc;

	if (!s || s->state == ST_WRITING) {
		struct log_rec r;

		if (log_begin(&r, &a->log.lg, LOG_DEBUG,
			      "stream response for a closed connection")) {
			log_u64(&r, "id", out->stream_id);
			log_end(&r);
		}
		return;
	}
	buf_release(&s->in);
	rc = frame_append(&s->out, out->data, out->len);
	if (rc) {
		a->cnt.stream_toobig++;
		stream_free(s);
		return;
	}
	s->state = ST_WRITING;
	rc = flush_out(s);
	if (rc != 0) {
		/* All written (or failed): done with this connection. */
		stream_free(s);
		return;
	}
	set_events(s, EV_WRITE);
}

void
agent_stream_out(struct agent *a, const struct swim_out *out)
{
	if (out->kind == SWIM_OUT_STREAM_REQ)
		start_outbound(a, out);
	else if (out->kind == SWIM_OUT_STREAM_RESP)
		start_response(a, out);
}

void
agent_streams_close_all(struct agent *a)
{
	while (a->streams)
		stream_free(a->streams);
}
