/* The control channel: JSON lines over a unix socket, server and client. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include "runtime/ctl.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/mem.h"

#define LOG_MODULE "ctl"

enum {
	CTL_BACKLOG = 16,      /* listen(2) queue */
	CTL_READ_CHUNK = 4096, /* bytes offered to one read */
	CTL_SOCKET_MODE = 0600 /* the socket file: owner only */
};

struct ctl_conn {
	uv_pipe_t pipe; /* data = this */
	struct ctl *c;
	struct ctl_conn *next, **pprev; /* c->conns */
	char *in;			/* bytes read, up to CTL_LINE_MAX */
	size_t in_len;
	struct ctl_req *busy; /* request waiting for its reply */
	bool is_dispatching;  /* inside dispatch(): no recursion */
	bool is_closing;
};

struct ctl_req {
	struct ctl_conn *conn; /* NULL once the client went away */
};

struct ctl {
	uv_pipe_t server; /* data = this */
	char *path;
	ctl_command_cb cb;
	void *ctx;
	struct ctl_conn *conns;
	unsigned nconns;
	unsigned handles; /* open handles: server + conns */
	bool is_closing;
};

/* One reply being written; freed by its callback. */
struct write_req {
	uv_write_t w;
	char *data;
};

static void ctl_free(struct ctl *c)
{
	sb_free(c->path);
	sb_free(c);
}

static void on_handle_gone(struct ctl *c)
{
	if (--c->handles == 0 && c->is_closing)
		ctl_free(c);
}

static void on_conn_closed(uv_handle_t *h)
{
	struct ctl_conn *k = h->data;
	struct ctl *c = k->c;

	if (k->busy)
		k->busy->conn = NULL;
	*k->pprev = k->next;
	if (k->next)
		k->next->pprev = k->pprev;
	c->nconns--;
	sb_free(k->in);
	sb_free(k);
	on_handle_gone(c);
}

static void conn_close(struct ctl_conn *k)
{
	if (k->is_closing)
		return;
	k->is_closing = true;
	uv_close((uv_handle_t *)&k->pipe, on_conn_closed);
}

static void on_written(uv_write_t *w, int status)
{
	struct write_req *r = (struct write_req *)w;

	sb_free(r->data);
	sb_free(r);
}

/* Write one JSON object and a newline; takes the reference to obj. */
static void send_json(struct ctl_conn *k, json_t *obj)
{
	char *text = json_dumps(obj, JSON_COMPACT);
	struct write_req *r;
	size_t len;
	uv_buf_t b;

	json_decref(obj);
	if (!text)
		return;
	len = strlen(text);
	r = sb_malloc(sizeof(*r));
	if (r)
		r->data = sb_malloc(len + 1);
	if (!r || !r->data) {
		if (r)
			sb_free(r);
		free(text);
		conn_close(k);
		return;
	}
	memcpy(r->data, text, len);
	r->data[len] = '\n';
	free(text);
	b = uv_buf_init(r->data, (unsigned)len + 1);
	if (uv_write(&r->w, (uv_stream_t *)&k->pipe, &b, 1, on_written) != 0) {
		sb_free(r->data);
		sb_free(r);
		conn_close(k);
	}
}

static json_t *error_obj(const char *msg)
{
	return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
}

/* Handle the complete lines read so far, one request at a time. */
static void dispatch(struct ctl_conn *k)
{
	k->is_dispatching = true;
	while (!k->busy && !k->is_closing) {
		char *nl = memchr(k->in, '\n', k->in_len);
		size_t line_len;
		json_error_t jerr;
		json_t *req, *cmd;

		if (!nl)
			break;
		line_len = (size_t)(nl - k->in);
		req = json_loadb(k->in, line_len, 0, &jerr);
		memmove(k->in, nl + 1, k->in_len - line_len - 1);
		k->in_len -= line_len + 1;
		cmd = req ? json_object_get(req, "cmd") : NULL;
		if (!json_is_object(req) || !json_is_string(cmd)) {
			send_json(k,
				  error_obj(req ? "a request needs \"cmd\""
						: "not JSON: send one object "
						  "per line, e.g. {\"cmd\": "
						  "\"stats\"}"));
			json_decref(req);
			continue;
		}
		k->busy = sb_calloc(1, sizeof(*k->busy));
		if (!k->busy) {
			json_decref(req);
			conn_close(k);
			break;
		}
		k->busy->conn = k;
		k->c->cb(k->c->ctx, k->busy, json_string_value(cmd), req);
		json_decref(req);
	}
	k->is_dispatching = false;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	struct ctl_conn *k = h->data;
	size_t room = CTL_LINE_MAX - k->in_len;

	*b = uv_buf_init(
	    k->in + k->in_len,
	    (unsigned)(room < CTL_READ_CHUNK ? room : CTL_READ_CHUNK));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct ctl_conn *k = s->data;

	if (n < 0) {
		conn_close(k);
		return;
	}
	k->in_len += (size_t)n;
	dispatch(k);
	if (!k->is_closing && k->in_len == CTL_LINE_MAX) {
		send_json(k, error_obj("request line too long"));
		conn_close(k);
	}
}

static void on_connection(uv_stream_t *server, int status)
{
	struct ctl *c = server->data;
	struct ctl_conn *k;

	if (status < 0)
		return;
	k = sb_calloc(1, sizeof(*k));
	if (k)
		k->in = sb_malloc(CTL_LINE_MAX);
	if (!k || !k->in) {
		if (k)
			sb_free(k);
		return;
	}
	k->c = c;
	uv_pipe_init(server->loop, &k->pipe, 0);
	k->pipe.data = k;
	k->next = c->conns;
	if (k->next)
		k->next->pprev = &k->next;
	k->pprev = &c->conns;
	c->conns = k;
	c->nconns++;
	c->handles++;
	if (uv_accept(server, (uv_stream_t *)&k->pipe) != 0 ||
	    c->nconns > CTL_CONNS_MAX ||
	    uv_read_start((uv_stream_t *)&k->pipe, on_alloc, on_read) != 0)
		conn_close(k);
}

/* A socket file left by a server that is gone is removed; a live one is
 * -EADDRINUSE; anything else at path is -EEXIST. */
static int path_clear(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	int fd, rc;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	if (rc == 0)
		return -EADDRINUSE;
	return unlink(path) == 0 ? 0 : -errno;
}

int ctl_new(uv_loop_t *loop, const char *path, ctl_command_cb cb, void *ctx,
	    struct ctl **out)
{
	struct ctl *c;
	int rc;

	if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return -ENAMETOOLONG;
	rc = path_clear(path);
	if (rc != 0)
		return rc;
	c = sb_calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->path = sb_strndup(path, strlen(path));
	if (!c->path) {
		sb_free(c);
		return -ENOMEM;
	}
	c->cb = cb;
	c->ctx = ctx;
	uv_pipe_init(loop, &c->server, 0);
	c->server.data = c;
	c->handles = 1;
	rc = uv_pipe_bind(&c->server, path);
	if (rc == 0)
		rc = chmod(path, CTL_SOCKET_MODE) == 0 ? 0 : -errno;
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&c->server, CTL_BACKLOG,
			       on_connection);
	if (rc != 0) {
		ctl_close(c);
		return rc;
	}
	*out = c;
	return 0;
}

void ctl_reply(struct ctl_req *req, json_t *reply)
{
	struct ctl_conn *k = req->conn;

	sb_free(req);
	if (!k) {
		json_decref(reply);
		return;
	}
	k->busy = NULL;
	if (!json_object_get(reply, "ok"))
		json_object_set_new(reply, "ok", json_true());
	send_json(k, reply);
	if (!k->is_dispatching)
		dispatch(k);
}

void ctl_reply_error(struct ctl_req *req, const char *msg)
{
	ctl_reply(req, error_obj(msg));
}

static void on_server_closed(uv_handle_t *h)
{
	on_handle_gone(h->data);
}

struct ctl *ctl_close(struct ctl *c)
{
	if (!c || c->is_closing)
		return NULL;
	c->is_closing = true;
	for (struct ctl_conn *k = c->conns; k; k = k->next)
		conn_close(k);
	uv_close((uv_handle_t *)&c->server, on_server_closed);
	unlink(c->path);
	return NULL;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read until a newline or the deadline; returns the line length or an
 * error. */
static ssize_t read_line(int fd, char *buf, size_t cap, int64_t deadline)
{
	size_t len = 0;

	while (len < cap) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int64_t left = deadline - now_ms();
		ssize_t n;

		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&p, 1, (int)left) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (!(p.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ECONNRESET;
		len += (size_t)n;
		if (memchr(buf + len - (size_t)n, '\n', (size_t)n))
			return (ssize_t)len;
	}
	return -E2BIG;
}

int ctl_call(const char *path, const char *cmd, json_t **out, char *err,
	     size_t err_len)
{
	return ctl_call_args(path, cmd, NULL, out, err, err_len);
}

int ctl_call_args(const char *path, const char *cmd, json_t *args, json_t **out,
		  char *err, size_t err_len)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	json_t *req = json_pack("{s:s}", "cmd", cmd);
	char *text;

	if (req && args)
		json_object_update(req, args);
	text = req ? json_dumps(req, JSON_COMPACT) : NULL;
	char *buf = sb_malloc(CTL_REPLY_MAX);
	json_error_t jerr;
	ssize_t n = 0;
	int fd = -1, rc = 0;

	json_decref(req);
	if (!text || !buf) {
		snprintf(err, err_len, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, err_len, "%s: path too long for a socket", path);
		rc = -ENAMETOOLONG;
		goto out;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		rc = -errno;
		snprintf(err, err_len, "%s: cannot connect: %s", path,
			 strerror(-rc));
		goto out;
	}
	if (dprintf(fd, "%s\n", text) < 0) {
		rc = -errno;
		snprintf(err, err_len, "%s: cannot send: %s", path,
			 strerror(-rc));
		goto out;
	}
	n = read_line(fd, buf, CTL_REPLY_MAX, now_ms() + CTL_REPLY_TIMEOUT_MS);
	if (n < 0) {
		rc = (int)n;
		snprintf(err, err_len, "%s: no reply: %s", path, strerror(-rc));
		goto out;
	}
	*out = json_loadb(buf, (size_t)n, 0, &jerr);
	if (!*out) {
		snprintf(err, err_len, "%s: reply is not JSON: %s", path,
			 jerr.text);
		rc = -EBADMSG;
	}
out:
	if (fd >= 0)
		close(fd);
	free(text);
	sb_free(buf);
	return rc;
}
