/* Call detail records: row conversion for the `cdrs` table. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <math.h>
#include <stdint.h>

#include "store/store_int.h"

int64_t store_cdr_packets(uint64_t n)
{
	return n > INT64_MAX ? INT64_MAX : (int64_t)n;
}

double store_cdr_real(double v)
{
	return isfinite(v) ? v : 0;
}

/* A packet count: an INTEGER column is signed, a negative one is bad. */
static int col_packets(sqlite3_stmt *st, int i, uint64_t *out)
{
	sqlite3_int64 v = sqlite3_column_int64(st, i);

	if (v < 0)
		return -ERANGE;
	*out = (uint64_t)v;
	return 0;
}

static int col_rtp(sqlite3_stmt *st, int i, struct store_cdr_rtp *r)
{
	int rc = col_packets(st, i, &r->packets);

	r->loss_pct = sqlite3_column_double(st, i + 1);
	r->jitter_ms = sqlite3_column_double(st, i + 2);
	r->mos = sqlite3_column_double(st, i + 3);
	return rc;
}

static int bind_rtp(sqlite3_stmt *st, int i, const struct store_cdr_rtp *r)
{
	int rc = 0;

	rc |= sqlite3_bind_int64(st, i, store_cdr_packets(r->packets));
	rc |= sqlite3_bind_double(st, i + 1, store_cdr_real(r->loss_pct));
	rc |= sqlite3_bind_double(st, i + 2, store_cdr_real(r->jitter_ms));
	rc |= sqlite3_bind_double(st, i + 3, store_cdr_real(r->mos));
	return rc;
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
	rc |= store_db_col_text(st, 21, c->media, sizeof(c->media));
	rc |= store_db_col_text(st, 22, c->codec, sizeof(c->codec));
	rc |= store_db_col_text(st, 23, c->recording, sizeof(c->recording));
	rc |= col_rtp(st, 24, &c->rtp_a);
	rc |= col_rtp(st, 28, &c->rtp_b);
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
	rc |= store_db_bind_text(st, 22, c->media, sizeof(c->media));
	rc |= store_db_bind_text(st, 23, c->codec, sizeof(c->codec));
	rc |= store_db_bind_text(st, 24, c->recording, sizeof(c->recording));
	rc |= bind_rtp(st, 25, &c->rtp_a);
	rc |= bind_rtp(st, 29, &c->rtp_b);
	return rc == SQLITE_OK ? 0 : -ENOMEM;
}
