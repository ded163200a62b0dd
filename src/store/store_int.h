/* Private to src/store: the SQLite engine under the thread and the admin. */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_STORE_STORE_INT_H
#define SB_STORE_STORE_INT_H

#include <sqlite3.h>
#include <stddef.h>

#include "store/store.h"

enum {
	STORE_PATH_MAX = 4096,	      /* bytes of the database path */
	STORE_BUSY_TIMEOUT_MS = 5000, /* wait for another writer */
	STORE_DIR_MODE = 0750,	      /* a data directory we create */
	STORE_FILE_MODE = 0600,	      /* the database holds HA1s */
	STORE_SCHEMA_VERSION = 1,     /* PRAGMA user_version we migrate to */
	STORE_ERR_MAX = STORE_PATH_MAX + 256 /* an admin error message */
};

/* Column lists, in the order the row helpers below read and bind them. */
#define STORE_USER_COLS                                                        \
	"user, domain, ha1_md5, ha1_sha256, display, caller_id, max_bindings"
#define STORE_BINDING_COLS                                                     \
	"aor, contact, path, call_id, cseq, q_milli, expires_at, transport, "  \
	"source, local, user_agent, instance, reg_id"

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
 * Row helpers: read the columns of STORE_USER_COLS / STORE_BINDING_COLS
 * from the current row (-E2BIG when a text does not fit its field), or
 * bind them as parameters ?1... in that order.
 */
int store_user_from_row(sqlite3_stmt *st, struct store_user *u);
int store_user_bind(sqlite3_stmt *st, const struct store_user *u);
int store_binding_from_row(sqlite3_stmt *st, struct store_binding *b);
int store_binding_bind(sqlite3_stmt *st, const struct store_binding *b);

#endif
