/* The SQLite engine: open, pragmas, schema migrations and row conversions. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/err.h"
#include "store/store_int.h"

/*
 * The schema, one entry per version: migrations[v] takes a database from
 * user_version v to v + 1. Entries are only ever appended; a released one
 * never changes.
 */
static const char *const migrations[] = {
    /* v1: subscribers and the persisted location service. */
    "CREATE TABLE users ("
    " user TEXT NOT NULL,"
    " domain TEXT NOT NULL,"
    " ha1_md5 TEXT NOT NULL,"
    " ha1_sha256 TEXT NOT NULL,"
    " display TEXT NOT NULL DEFAULT '',"
    " caller_id TEXT NOT NULL DEFAULT '',"
    " max_bindings INTEGER NOT NULL DEFAULT 0,"
    " created INTEGER NOT NULL,"
    " updated INTEGER NOT NULL,"
    " PRIMARY KEY (domain, user)"
    ") WITHOUT ROWID;"
    "CREATE TABLE bindings ("
    " aor TEXT NOT NULL,"
    " contact TEXT NOT NULL,"
    " path TEXT NOT NULL DEFAULT '',"
    " call_id TEXT NOT NULL,"
    " cseq INTEGER NOT NULL,"
    " q_milli INTEGER NOT NULL,"
    " expires_at INTEGER NOT NULL,"
    " transport TEXT NOT NULL,"
    " source TEXT NOT NULL,"
    " local TEXT NOT NULL,"
    " user_agent TEXT NOT NULL,"
    " instance TEXT NOT NULL,"
    " reg_id INTEGER NOT NULL,"
    " PRIMARY KEY (aor, contact)"
    ") WITHOUT ROWID;"
    "CREATE INDEX bindings_expires ON bindings (expires_at);",
    /* v2: call detail records, written by the B2BUA, never updated. */
    "CREATE TABLE cdrs ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " call_id TEXT NOT NULL,"
    " b_call_id TEXT NOT NULL,"
    " caller TEXT NOT NULL,"
    " callee TEXT NOT NULL,"
    " b_target TEXT NOT NULL,"
    " route TEXT NOT NULL,"
    " source TEXT NOT NULL,"
    " start_ms INTEGER NOT NULL,"
    " ring_ms INTEGER NOT NULL,"
    " answer_ms INTEGER NOT NULL,"
    " end_ms INTEGER NOT NULL,"
    " duration_s INTEGER NOT NULL,"
    " billsec INTEGER NOT NULL,"
    " disposition TEXT NOT NULL,"
    " cause TEXT NOT NULL,"
    " a_status INTEGER NOT NULL,"
    " b_status INTEGER NOT NULL,"
    " a_reason TEXT NOT NULL,"
    " b_reason TEXT NOT NULL,"
    " hangup_by TEXT NOT NULL,"
    " transfers INTEGER NOT NULL"
    ");"
    "CREATE INDEX cdrs_start ON cdrs (start_ms);",
    /* v3: media of a CDR; older rows read as not anchored, no RTP. */
    "ALTER TABLE cdrs ADD COLUMN media TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE cdrs ADD COLUMN codec TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE cdrs ADD COLUMN recording TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE cdrs ADD COLUMN a_rtp_packets INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE cdrs ADD COLUMN a_loss_pct REAL NOT NULL DEFAULT 0;"
    "ALTER TABLE cdrs ADD COLUMN a_jitter_ms REAL NOT NULL DEFAULT 0;"
    "ALTER TABLE cdrs ADD COLUMN a_mos REAL NOT NULL DEFAULT 0;"
    "ALTER TABLE cdrs ADD COLUMN b_rtp_packets INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE cdrs ADD COLUMN b_loss_pct REAL NOT NULL DEFAULT 0;"
    "ALTER TABLE cdrs ADD COLUMN b_jitter_ms REAL NOT NULL DEFAULT 0;"
    "ALTER TABLE cdrs ADD COLUMN b_mos REAL NOT NULL DEFAULT 0;",
};

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) ==
		   STORE_SCHEMA_VERSION,
	       "one migration per schema version");

/* Create the file with owner-only access before SQLite sees it. */
static int file_make(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, STORE_FILE_MODE);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static int fail(int rc, char *err, size_t cap, const char *path,
		const char *what, const char *detail)
{
	if (err && cap)
		snprintf(err, cap, "%s: %s: %s", path, what, detail);
	return rc;
}

static int user_version(sqlite3 *db, int *out)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);

	if (rc != SQLITE_OK)
		return store_db_errno(db, rc);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : store_db_errno(db, rc);
}

/*
 * Bring the schema to STORE_SCHEMA_VERSION. The version is read again
 * under the write lock, so a server and the command line opening a new
 * file together migrate it once.
 */
static int migrate(sqlite3 *db, const char *path, char *err, size_t cap)
{
	char sql[64];
	int v, rc;

	rc = user_version(db, &v);
	if (rc != 0)
		return fail(rc, err, cap, path,
			    "cannot read the schema version",
			    sqlite3_errmsg(db));
	if (v == STORE_SCHEMA_VERSION)
		return 0;
	rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return fail(store_db_errno(db, rc), err, cap, path,
			    "cannot lock for migration", sqlite3_errmsg(db));
	rc = user_version(db, &v);
	if (rc != 0) {
		fail(rc, err, cap, path, "cannot read the schema version",
		     sqlite3_errmsg(db));
		goto out;
	}
	if (v < 0 || v > STORE_SCHEMA_VERSION) {
		snprintf(sql, sizeof(sql),
			 "schema version %d, this build knows %d", v,
			 STORE_SCHEMA_VERSION);
		rc = fail(-ENOTSUP, err, cap, path, "database is newer", sql);
		goto out;
	}
	for (; v < STORE_SCHEMA_VERSION; v++) {
		rc = sqlite3_exec(db, migrations[v], NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			snprintf(sql, sizeof(sql), "migration to v%d failed",
				 v + 1);
			rc = fail(store_db_errno(db, rc), err, cap, path, sql,
				  sqlite3_errmsg(db));
			goto out;
		}
	}
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
		 STORE_SCHEMA_VERSION);
	rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		rc = fail(store_db_errno(db, rc), err, cap, path,
			  "cannot commit the migration", sqlite3_errmsg(db));
		goto out;
	}
	return 0;
out:
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

int store_db_path(const char *data_dir, char *path, size_t cap)
{
	int n;

	if (!data_dir || !data_dir[0])
		return -EINVAL;
	n = snprintf(path, cap, "%s/switchboard.db", data_dir);
	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

int store_db_open(const char *data_dir, const char *path, sqlite3 **out,
		  char *err, size_t cap)
{
	const int flags =
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
	sqlite3 *db = NULL;
	int rc;

	rc = sb_mkdir_p(data_dir, STORE_DIR_MODE);
	if (rc != 0)
		return fail(rc, err, cap, data_dir,
			    "cannot create the data directory",
			    sb_strerror(rc));
	rc = file_make(path);
	if (rc != 0)
		return fail(rc, err, cap, path, "cannot create the database",
			    sb_strerror(rc));
	rc = sqlite3_open_v2(path, &db, flags, NULL);
	if (rc != SQLITE_OK) {
		rc = fail(store_db_errno(db, rc), err, cap, path,
			  "cannot open the database",
			  db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		goto out;
	}
	sqlite3_busy_timeout(db, STORE_BUSY_TIMEOUT_MS);
	rc = sqlite3_exec(db,
			  "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
			  NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		rc = fail(store_db_errno(db, rc), err, cap, path,
			  "cannot set up the database", sqlite3_errmsg(db));
		goto out;
	}
	rc = migrate(db, path, err, cap);
	if (rc != 0)
		goto out;
	*out = db;
	return 0;
out:
	sqlite3_close_v2(db);
	return rc;
}

void store_db_close(sqlite3 *db)
{
	sqlite3_close_v2(db);
}

int store_db_errno(sqlite3 *db, int rc)
{
	int sys;

	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return 0;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_CONSTRAINT:
		return -EEXIST;
	case SQLITE_TOOBIG:
		return -E2BIG;
	case SQLITE_NOTADB:
	case SQLITE_CORRUPT:
		return -EINVAL;
	case SQLITE_CANTOPEN:
	case SQLITE_IOERR:
		sys = db ? sqlite3_system_errno(db) : 0;
		return sys > 0 ? -sys : -EIO;
	default:
		return -EIO;
	}
}

int store_db_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **out)
{
	int rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, out,
				    NULL);

	return rc == SQLITE_OK ? 0 : store_db_errno(db, rc);
}

int store_db_step_done(sqlite3 *db, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0
						     : store_db_errno(db, rc);
}

int store_db_col_text(sqlite3_stmt *st, int i, char *dst, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	size_t n = (size_t)sqlite3_column_bytes(st, i);

	if (!t) {
		dst[0] = '\0';
		return 0;
	}
	if (n >= cap)
		return -E2BIG;
	if (memchr(t, '\0', n))
		return -EINVAL;
	memcpy(dst, t, n);
	dst[n] = '\0';
	return 0;
}

int store_db_col_u32(sqlite3_stmt *st, int i, uint32_t max, uint32_t *out)
{
	sqlite3_int64 v = sqlite3_column_int64(st, i);

	if (v < 0 || v > (sqlite3_int64)max)
		return -ERANGE;
	*out = (uint32_t)v;
	return 0;
}

int store_db_bind_text(sqlite3_stmt *st, int i, const char *s, size_t cap)
{
	return sqlite3_bind_text(st, i, s, (int)strnlen(s, cap), SQLITE_STATIC);
}

int store_user_from_row(sqlite3_stmt *st, struct store_user *u)
{
	int rc = 0;

	rc |= store_db_col_text(st, 0, u->user, sizeof(u->user));
	rc |= store_db_col_text(st, 1, u->domain, sizeof(u->domain));
	rc |= store_db_col_text(st, 2, u->ha1_md5, sizeof(u->ha1_md5));
	rc |= store_db_col_text(st, 3, u->ha1_sha256, sizeof(u->ha1_sha256));
	rc |= store_db_col_text(st, 4, u->display, sizeof(u->display));
	rc |= store_db_col_text(st, 5, u->caller_id, sizeof(u->caller_id));
	rc |= store_db_col_u32(st, 6, UINT32_MAX, &u->max_bindings);
	return rc ? -E2BIG : 0;
}

int store_user_bind(sqlite3_stmt *st, const struct store_user *u)
{
	int rc = 0;

	rc |= store_db_bind_text(st, 1, u->user, sizeof(u->user));
	rc |= store_db_bind_text(st, 2, u->domain, sizeof(u->domain));
	rc |= store_db_bind_text(st, 3, u->ha1_md5, sizeof(u->ha1_md5));
	rc |= store_db_bind_text(st, 4, u->ha1_sha256, sizeof(u->ha1_sha256));
	rc |= store_db_bind_text(st, 5, u->display, sizeof(u->display));
	rc |= store_db_bind_text(st, 6, u->caller_id, sizeof(u->caller_id));
	rc |= sqlite3_bind_int64(st, 7, u->max_bindings);
	return rc == SQLITE_OK ? 0 : -ENOMEM;
}

int store_binding_from_row(sqlite3_stmt *st, struct store_binding *b)
{
	uint32_t q = 0;
	int rc = 0;

	rc |= store_db_col_text(st, 0, b->aor, sizeof(b->aor));
	rc |= store_db_col_text(st, 1, b->contact, sizeof(b->contact));
	rc |= store_db_col_text(st, 2, b->path, sizeof(b->path));
	rc |= store_db_col_text(st, 3, b->call_id, sizeof(b->call_id));
	rc |= store_db_col_u32(st, 4, UINT32_MAX, &b->cseq);
	rc |= store_db_col_u32(st, 5, UINT16_MAX, &q);
	b->q_milli = (uint16_t)q;
	b->expires_at = sqlite3_column_int64(st, 6);
	rc |= store_db_col_text(st, 7, b->transport, sizeof(b->transport));
	rc |= store_db_col_text(st, 8, b->source, sizeof(b->source));
	rc |= store_db_col_text(st, 9, b->local, sizeof(b->local));
	rc |= store_db_col_text(st, 10, b->user_agent, sizeof(b->user_agent));
	rc |= store_db_col_text(st, 11, b->instance, sizeof(b->instance));
	rc |= store_db_col_u32(st, 12, UINT32_MAX, &b->reg_id);
	return rc ? -E2BIG : 0;
}

int store_binding_bind(sqlite3_stmt *st, const struct store_binding *b)
{
	int rc = 0;

	rc |= store_db_bind_text(st, 1, b->aor, sizeof(b->aor));
	rc |= store_db_bind_text(st, 2, b->contact, sizeof(b->contact));
	rc |= store_db_bind_text(st, 3, b->path, sizeof(b->path));
	rc |= store_db_bind_text(st, 4, b->call_id, sizeof(b->call_id));
	rc |= sqlite3_bind_int64(st, 5, b->cseq);
	rc |= sqlite3_bind_int64(st, 6, b->q_milli);
	rc |= sqlite3_bind_int64(st, 7, b->expires_at);
	rc |= store_db_bind_text(st, 8, b->transport, sizeof(b->transport));
	rc |= store_db_bind_text(st, 9, b->source, sizeof(b->source));
	rc |= store_db_bind_text(st, 10, b->local, sizeof(b->local));
	rc |= store_db_bind_text(st, 11, b->user_agent, sizeof(b->user_agent));
	rc |= store_db_bind_text(st, 12, b->instance, sizeof(b->instance));
	rc |= sqlite3_bind_int64(st, 13, b->reg_id);
	return rc == SQLITE_OK ? 0 : -ENOMEM;
}
