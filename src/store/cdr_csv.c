/* Call detail records as CSV: the lines and the file the store appends to. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/log.h"
#include "store/store_int.h"

#define LOG_MODULE "store"

enum {
	CSV_FILE_MODE = 0640,
	CSV_NUM_MAX = 24,   /* an int64 or a uint64 printed, and a comma */
	CSV_REAL_MAX = 320, /* "%.2f" of -DBL_MAX (313 bytes), and a comma */
	CSV_COLS_MAX = 40,  /* more than the columns of STORE_CDR_COLS */
	/*
	 * More than the longest line: every byte of the record doubled (a
	 * text of quotes), each column quoted, numbers at their longest.
	 */
	CSV_LINE_MAX = 2 * sizeof(struct store_cdr) +
		       CSV_COLS_MAX * (CSV_NUM_MAX + 3) + 6 * CSV_REAL_MAX,
	CSV_LOG_VALUE = 512 /* bytes of an escaped path in a log line */
};

/* A CSV line being printed into the caller's buffer. */
struct line {
	char *p;
	size_t cap;   /* bytes of p, the NUL included */
	size_t len;   /* bytes printed so far, past cap once it overflowed */
	bool has_col; /* a column was printed: the next needs a comma */
};

static void put_char(struct line *l, char ch)
{
	if (l->len + 1 < l->cap)
		l->p[l->len] = ch;
	l->len++;
}

/* A column separator, unless this is the first column. */
static void put_sep(struct line *l)
{
	if (l->has_col)
		put_char(l, ',');
	l->has_col = true;
}

/*
 * RFC 4180 2.6, 2.7: a field holding a comma, quote, CR or LF is quoted,
 * its quotes doubled. CR and LF become spaces so a record is one line.
 */
static void put_text(struct line *l, const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);
	bool is_quoted = false;

	for (size_t i = 0; i < n && !is_quoted; i++)
		is_quoted = strchr(",\"\r\n", s[i]) != NULL;
	put_sep(l);
	if (is_quoted)
		put_char(l, '"');
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"')
			put_char(l, '"');
		put_char(l, s[i] == '\r' || s[i] == '\n' ? ' ' : s[i]);
	}
	if (is_quoted)
		put_char(l, '"');
}

static void put_num(struct line *l, const char *num, int n)
{
	put_sep(l);
	for (int i = 0; i < n; i++)
		put_char(l, num[i]);
}

static void put_i64(struct line *l, int64_t v)
{
	char num[CSV_NUM_MAX];

	put_num(l, num, snprintf(num, sizeof(num), "%" PRId64, v));
}

/* Two decimals, as the database's value reads (store_cdr_real). */
static void put_real(struct line *l, double v)
{
	char num[CSV_REAL_MAX];

	put_num(l, num, snprintf(num, sizeof(num), "%.2f", store_cdr_real(v)));
}

static void put_rtp(struct line *l, const struct store_cdr_rtp *r)
{
	put_i64(l, store_cdr_packets(r->packets));
	put_real(l, r->loss_pct);
	put_real(l, r->jitter_ms);
	put_real(l, r->mos);
}

int store_cdr_csv(const struct store_cdr *c, char *out, size_t cap)
{
	struct line l = {.p = out, .cap = cap};

	if (!c || (!out && cap))
		return -EINVAL;
	put_text(&l, c->call_id, sizeof(c->call_id));
	put_text(&l, c->b_call_id, sizeof(c->b_call_id));
	put_text(&l, c->caller, sizeof(c->caller));
	put_text(&l, c->callee, sizeof(c->callee));
	put_text(&l, c->b_target, sizeof(c->b_target));
	put_text(&l, c->route, sizeof(c->route));
	put_text(&l, c->source, sizeof(c->source));
	put_i64(&l, c->start_ms);
	put_i64(&l, c->ring_ms);
	put_i64(&l, c->answer_ms);
	put_i64(&l, c->end_ms);
	put_i64(&l, c->duration_s);
	put_i64(&l, c->billsec);
	put_text(&l, c->disposition, sizeof(c->disposition));
	put_text(&l, c->cause, sizeof(c->cause));
	put_i64(&l, c->a_status);
	put_i64(&l, c->b_status);
	put_text(&l, c->a_reason, sizeof(c->a_reason));
	put_text(&l, c->b_reason, sizeof(c->b_reason));
	put_text(&l, c->hangup_by, sizeof(c->hangup_by));
	put_i64(&l, c->transfers);
	put_text(&l, c->media, sizeof(c->media));
	put_text(&l, c->codec, sizeof(c->codec));
	put_text(&l, c->recording, sizeof(c->recording));
	put_rtp(&l, &c->rtp_a);
	put_rtp(&l, &c->rtp_b);
	put_char(&l, '\n');
	if (l.len >= cap) {
		if (cap)
			out[0] = '\0';
		return -E2BIG;
	}
	out[l.len] = '\0';
	return (int)l.len;
}

const char *store_cdr_csv_header(void)
{
	return STORE_CDR_COLS "\n";
}

/*
 * Rows are appended under the header a file already has: one written by
 * an older build names fewer columns than its new rows hold.
 */
static void header_check(const char *path, const char *h)
{
	char got[sizeof(STORE_CDR_COLS "\n")], tmp[CSV_LOG_VALUE];
	size_t len = strlen(h);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return;
	n = pread(fd, got, len, 0);
	close(fd);
	if (n == (ssize_t)len && memcmp(got, h, len) == 0)
		return;
	log_warn("cdr_csv_header_differs",
		 "cdr_csv=%s hint=\"start a new file for these columns\"",
		 log_esc(slice_cstr(path), tmp, sizeof(tmp)));
}

int store_cdr_csv_open(const char *path, int *out)
{
	const char *h = store_cdr_csv_header();
	struct stat st;
	int fd;

	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
		  CSV_FILE_MODE);
	*out = fd;
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0)
		return 0;
	if (st.st_size == 0)
		return write(fd, h, strlen(h)) < 0 ? -errno : 0;
	header_check(path, h);
	return 0;
}

void store_cdr_csv_append(int fd, const struct store_cdr *c)
{
	char line[CSV_LINE_MAX];
	int n = store_cdr_csv(c, line, sizeof(line));

	if (n > 0 && write(fd, line, (size_t)n) != n)
		log_warn("csv_write_failed", "error=\"%s\"",
			 sb_strerror(-errno));
}
