/* Call detail records: row conversion for the `cdrs` table and CSV lines. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "store/store_int.h"

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

static void put_i64(struct line *l, int64_t v)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%" PRId64, v);

	put_sep(l);
	for (int i = 0; i < n; i++)
		put_char(l, num[i]);
}

int store_cdr_from_row(sqlite3_stmt *st, struct store_cdr *c)
{
	uint32_t a = 0, b = 0;
	int rc = 0;

	rc |= store_db_col_text(st, 0, c->call_id, sizeof(c->call_id));
	rc |= store_db_col_text(st, 1, c->b_call_id, sizeof(c->b_call_id));
	rc |= store_db_col_text(st, 2, c->caller, sizeof(c->caller));
	rc |= store_db_col_text(st, 3, c->callee, sizeof(c->callee));
	rc |= store_db_col_text(st, 4, c->b_target, sizeof(c->b_target));
	rc |= store_db_col_text(st, 5, c->route, sizeof(c->route));
	rc |= store_db_col_text(st, 6, c->source, sizeof(c->source));
	c->start_ms = sqlite3_column_int64(st, 7);
	c->ring_ms = sqlite3_column_int64(st, 8);
	c->answer_ms = sqlite3_column_int64(st, 9);
	c->end_ms = sqlite3_column_int64(st, 10);
	rc |= store_db_col_u32(st, 11, UINT32_MAX, &c->duration_s);
	rc |= store_db_col_u32(st, 12, UINT32_MAX, &c->billsec);
	rc |= store_db_col_text(st, 13, c->disposition, sizeof(c->disposition));
	rc |= store_db_col_text(st, 14, c->cause, sizeof(c->cause));
	rc |= store_db_col_u32(st, 15, UINT16_MAX, &a);
	rc |= store_db_col_u32(st, 16, UINT16_MAX, &b);
	c->a_status = (uint16_t)a;
	c->b_status = (uint16_t)b;
	rc |= store_db_col_text(st, 17, c->a_reason, sizeof(c->a_reason));
	rc |= store_db_col_text(st, 18, c->b_reason, sizeof(c->b_reason));
	rc |= store_db_col_text(st, 19, c->hangup_by, sizeof(c->hangup_by));
	rc |= store_db_col_u32(st, 20, UINT32_MAX, &c->transfers);
	return rc ? -E2BIG : 0;
}

int store_cdr_bind(sqlite3_stmt *st, const struct store_cdr *c)
{
	int rc = 0;

	rc |= store_db_bind_text(st, 1, c->call_id, sizeof(c->call_id));
	rc |= store_db_bind_text(st, 2, c->b_call_id, sizeof(c->b_call_id));
	rc |= store_db_bind_text(st, 3, c->caller, sizeof(c->caller));
	rc |= store_db_bind_text(st, 4, c->callee, sizeof(c->callee));
	rc |= store_db_bind_text(st, 5, c->b_target, sizeof(c->b_target));
	rc |= store_db_bind_text(st, 6, c->route, sizeof(c->route));
	rc |= store_db_bind_text(st, 7, c->source, sizeof(c->source));
	rc |= sqlite3_bind_int64(st, 8, c->start_ms);
	rc |= sqlite3_bind_int64(st, 9, c->ring_ms);
	rc |= sqlite3_bind_int64(st, 10, c->answer_ms);
	rc |= sqlite3_bind_int64(st, 11, c->end_ms);
	rc |= sqlite3_bind_int64(st, 12, c->duration_s);
	rc |= sqlite3_bind_int64(st, 13, c->billsec);
	rc |=
	    store_db_bind_text(st, 14, c->disposition, sizeof(c->disposition));
	rc |= store_db_bind_text(st, 15, c->cause, sizeof(c->cause));
	rc |= sqlite3_bind_int64(st, 16, c->a_status);
	rc |= sqlite3_bind_int64(st, 17, c->b_status);
	rc |= store_db_bind_text(st, 18, c->a_reason, sizeof(c->a_reason));
	rc |= store_db_bind_text(st, 19, c->b_reason, sizeof(c->b_reason));
	rc |= store_db_bind_text(st, 20, c->hangup_by, sizeof(c->hangup_by));
	rc |= sqlite3_bind_int64(st, 21, c->transfers);
	return rc == SQLITE_OK ? 0 : -ENOMEM;
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
