/* Private to src/store: the SQLite engine, the CDR rows and their CSV file. */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_STORE_STORE_INT_H
#define SB_STORE_STORE_INT_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

enum {
	STORE_PATH_MAX = 4096,	      /* bytes of the database path */
	STORE_BUSY_TIMEOUT_MS = 5000, /* wait for another writer */
	STORE_DIR_MODE = 0750,	      /* a data directory we create */
	STORE_FILE_MODE = 0600,	      /* the database holds HA1s */
	STORE_SCHEMA_VERSION = 3,     /* PRAGMA user_version we migrate to */
	STORE_ERR_MAX = STORE_PATH_MAX + 256 /* an admin error message */
};

/* Column lists, in the order the row helpers below read and bind them. */
#define STORE_USER_COLS                                                        \
	"user, domain, ha1_md5, ha1_sha256, display, caller_id, max_bindings"
#define STORE_BINDING_COLS                                                     \
	"aor, contact, path, call_id, cseq, q_milli, expires_at, transport, "  \
	"source, local, user_agent, instance, reg_id"
/* Also the CSV header of store_cdr_csv, hence no spaces. */
#define STORE_CDR_COLS                                                         \
	"call_id,b_call_id,caller,callee,b_target,route,source,start_ms,"      \
	"ring_ms,answer_ms,end_ms,duration_s,billsec,disposition,cause,"       \
	"a_status,b_status,a_reason,b_reason,hangup_by,transfers,media,codec," \
	"recording,a_rtp_packets,a_loss_pct,a_jitter_ms,a_mos,b_rtp_packets,"  \
	"b_loss_pct,b_jitter_ms,b_mos"

/* "<data_dir>/switchboard.db" into path; -ENAMETOOLONG, -EINVAL. */
int store_db_path(const char *data_dir, char *path, size_t cap);

/*
 * Open the database at path (made by store_db_path from data_dir) for the
 * calling thread: create data_dir and the file (mode 0600) when missing,
 * set WAL, synchronous=NORMAL and the busy timeout, and run the migrations
 * up to STORE_SCHEMA_VERSION in one transaction. Returns 0 and sets *out,
 * or a negative errno with a message naming the path in err. No logging.
 */
int store_db_open(const char *data_dir, const char *path, sqlite3 **out,
		  char *err, size_t cap);
/* Close a connection opened above (statements finalized first). */
void store_db_close(sqlite3 *db);

/* A SQLite result code as a negative errno (0 for OK, ROW and DONE). */
int store_db_errno(sqlite3 *db, int rc);
/* Prepare a statement kept for the life of the connection. */
int store_db_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **out);
/* Run a statement without results and reset it; returns a negative errno. */
int store_db_step_done(sqlite3 *db, sqlite3_stmt *st);

/*
 * Column and parameter helpers for the row helpers. col_text copies text
 * column i into dst[cap] (NULL reads as ""; -E2BIG when it does not fit,
 * -EINVAL on an embedded NUL); col_u32 reads an integer in 0..max
 * (-ERANGE); bind_text binds a fixed-size field of cap bytes, never
 * reading past its end, and returns a SQLite result code.
 */
int store_db_col_text(sqlite3_stmt *st, int i, char *dst, size_t cap);
int store_db_col_u32(sqlite3_stmt *st, int i, uint32_t max, uint32_t *out);
int store_db_bind_text(sqlite3_stmt *st, int i, const char *s, size_t cap);

/*
 * Row helpers: read the columns of STORE_USER_COLS, STORE_BINDING_COLS or
 * STORE_CDR_COLS from the current row (-E2BIG when a text does not fit its
 * field), or bind them as parameters ?1... in that order.
 */
int store_user_from_row(sqlite3_stmt *st, struct store_user *u);
int store_user_bind(sqlite3_stmt *st, const struct store_user *u);
int store_binding_from_row(sqlite3_stmt *st, struct store_binding *b);
int store_binding_bind(sqlite3_stmt *st, const struct store_binding *b);
int store_cdr_from_row(sqlite3_stmt *st, struct store_cdr *c);
int store_cdr_bind(sqlite3_stmt *st, const struct store_cdr *c);
/*
 * What the database and the CSV line hold for a CDR's numbers, so the two
 * agree: a packet count beyond INT64_MAX (an INTEGER column) as INT64_MAX,
 * a NaN or infinite statistic (SQLite stores NaN as NULL) as 0.
 */
int64_t store_cdr_packets(uint64_t n);
double store_cdr_real(double v);

/*
 * The CDR CSV file of the store thread. csv_open opens path for appending
 * (mode 0640), writing the header first when the file is empty and logging
 * a warning when a non-empty file starts with another header; it returns
 * 0 and sets *fd, or a negative errno. csv_append writes c as one line,
 * logging a failure.
 */
int store_cdr_csv_open(const char *path, int *fd);
void store_cdr_csv_append(int fd, const struct store_cdr *c);

#endif
