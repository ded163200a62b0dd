/* Synchronous subscriber administration for `switchboard user`. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "store/store_int.h"

static const char sql_add[] =
    "INSERT INTO users (" STORE_USER_COLS ", created, updated) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)";
static const char sql_update[] =
    "UPDATE users SET ha1_md5 = ?3, ha1_sha256 = ?4, display = ?5, "
    "caller_id = ?6, max_bindings = ?7, updated = ?8 "
    "WHERE user = ?1 AND domain = ?2";
static const char sql_del[] = "DELETE FROM users WHERE user = ?1 AND "
			      "domain = ?2";
/* A removed user's persisted bindings go with it. */
static const char sql_del_bindings[] =
    "DELETE FROM bindings WHERE aor = ?1 || '@' || ?2";
static const char sql_get[] =
    "SELECT " STORE_USER_COLS " FROM users WHERE user = ?1 AND domain = ?2";
static const char sql_list[] =
    "SELECT " STORE_USER_COLS " FROM users ORDER BY domain, user";

/* One command's connection and statement. */
struct admin {
	char path[STORE_PATH_MAX];
	sqlite3 *db;
	sqlite3_stmt *st;
	char *err; /* the caller's message buffer, may be NULL */
	size_t err_cap;
};

static int say(struct admin *a, int rc, const char *fmt, const char *x,
	       const char *y)
{
	if (a->err && a->err_cap)
		snprintf(a->err, a->err_cap, fmt, x, y);
	return rc;
}

/* A SQLite failure: "<path>: <what>: <sqlite message>". */
static int db_fail(struct admin *a, int rc, const char *what)
{
	char msg[256];

	snprintf(msg, sizeof(msg), "%s: %s", what, sqlite3_errmsg(a->db));
	return say(a, store_db_errno(a->db, rc), "%s: %s", a->path, msg);
}

static int begin(struct admin *a, const char *data_dir, const char *sql,
		 char *err, size_t err_cap)
{
	int rc;

	a->db = NULL;
	a->st = NULL;
	a->err = err;
	a->err_cap = err_cap;
	if (err && err_cap)
		err[0] = '\0';
	rc = store_db_path(data_dir, a->path, sizeof(a->path));
	if (rc != 0)
		return say(a, rc, "%s: %s", data_dir ? data_dir : "(none)",
			   "not a usable data directory");
	rc = store_db_open(data_dir, a->path, &a->db, err, err_cap);
	if (rc != 0)
		return rc;
	rc = sqlite3_prepare_v2(a->db, sql, -1, &a->st, NULL);
	return rc == SQLITE_OK ? 0 : db_fail(a, rc, "cannot prepare");
}

static void end(struct admin *a)
{
	sqlite3_finalize(a->st);
	if (a->db)
		store_db_close(a->db);
}

static bool is_hex(const char *s, size_t len)
{
	if (strnlen(s, len + 1) != len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static bool is_text(const char *s, size_t cap, bool is_required)
{
	size_t n = strnlen(s, cap);

	return n < cap && (n > 0 || !is_required);
}

static int check_user(struct admin *a, const struct store_user *u)
{
	if (!is_text(u->user, sizeof(u->user), true) ||
	    !is_text(u->domain, sizeof(u->domain), true) ||
	    !is_text(u->display, sizeof(u->display), false) ||
	    !is_text(u->caller_id, sizeof(u->caller_id), false))
		return say(a, -EINVAL, "%s%s", "bad user record: a field is ",
			   "empty or too long");
	if (!is_hex(u->ha1_md5, STORE_HA1_MD5_HEX) ||
	    !is_hex(u->ha1_sha256, STORE_HA1_SHA256_HEX))
		return say(a, -EINVAL, "%s%s", "bad user record: ",
			   "HA1 values must be lower-case hex");
	return 0;
}

/* Bind ?1 user, ?2 domain; -EINVAL when either is empty or too long. */
static int bind_key(struct admin *a, const char *user, const char *domain)
{
	if (!user || !domain || !is_text(user, STORE_USER_MAX + 1, true) ||
	    !is_text(domain, STORE_DOMAIN_MAX + 1, true))
		return say(a, -EINVAL, "%s%s",
			   "bad user or domain: ", "empty or too long");
	if (sqlite3_bind_text(a->st, 1, user, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(a->st, 2, domain, -1, SQLITE_STATIC))
		return say(a, -ENOMEM, "%s%s", "out of memory", "");
	return 0;
}

/* Run the bound add or update statement for u. */
static int write_user(const char *data_dir, const char *sql,
		      const struct store_user *u, char *err, size_t err_cap)
{
	struct admin a;
	int rc;

	rc = begin(&a, data_dir, sql, err, err_cap);
	if (rc == 0)
		rc = check_user(&a, u);
	if (rc == 0 && (store_user_bind(a.st, u) != 0 ||
			sqlite3_bind_int64(a.st, 8, (sqlite3_int64)time(NULL))))
		rc = say(&a, -ENOMEM, "%s%s", "out of memory", "");
	if (rc != 0)
		goto out;
	rc = sqlite3_step(a.st);
	if ((rc & 0xff) == SQLITE_CONSTRAINT) {
		rc = say(&a, -EEXIST, "user %s@%s already exists", u->user,
			 u->domain);
	} else if (rc != SQLITE_DONE) {
		rc = db_fail(&a, rc, "cannot write the user");
	} else if (sqlite3_changes(a.db) == 0) {
		rc = say(&a, -ENOENT, "no user %s@%s", u->user, u->domain);
	} else {
		rc = 0;
	}
out:
	end(&a);
	return rc;
}

int store_admin_user_add(const char *data_dir, const struct store_user *u,
			 char *err, size_t err_cap)
{
	return write_user(data_dir, sql_add, u, err, err_cap);
}

int store_admin_user_update(const char *data_dir, const struct store_user *u,
			    char *err, size_t err_cap)
{
	return write_user(data_dir, sql_update, u, err, err_cap);
}

/*
 * The user and its persisted bindings in one transaction, so that a
 * restart does not restore contacts of a user who is gone.
 */
int store_admin_user_del(const char *data_dir, const char *user,
			 const char *domain, char *err, size_t err_cap)
{
	sqlite3_stmt *bst = NULL;
	struct admin a;
	int rc;

	rc = begin(&a, data_dir, sql_del, err, err_cap);
	if (rc == 0)
		rc = bind_key(&a, user, domain);
	if (rc != 0)
		goto out;
	rc = sqlite3_exec(a.db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		rc = db_fail(&a, rc, "cannot lock");
		goto out;
	}
	rc = sqlite3_step(a.st);
	if (rc != SQLITE_DONE) {
		rc = db_fail(&a, rc, "cannot delete the user");
		goto rollback;
	}
	if (sqlite3_changes(a.db) == 0) {
		rc = say(&a, -ENOENT, "no user %s@%s", user, domain);
		goto rollback;
	}
	rc = sqlite3_prepare_v2(a.db, sql_del_bindings, -1, &bst, NULL);
	if (rc == SQLITE_OK &&
	    (sqlite3_bind_text(bst, 1, user, -1, SQLITE_STATIC) ||
	     sqlite3_bind_text(bst, 2, domain, -1, SQLITE_STATIC)))
		rc = SQLITE_NOMEM;
	if (rc == SQLITE_OK)
		rc = sqlite3_step(bst);
	if (rc != SQLITE_DONE) {
		rc = db_fail(&a, rc, "cannot delete the user's bindings");
		goto rollback;
	}
	rc = sqlite3_exec(a.db, "COMMIT", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		goto out;
	rc = db_fail(&a, rc, "cannot commit");
rollback:
	sqlite3_exec(a.db, "ROLLBACK", NULL, NULL, NULL);
out:
	sqlite3_finalize(bst);
	end(&a);
	return rc;
}

int store_admin_user_get(const char *data_dir, const char *user,
			 const char *domain, struct store_user *out, char *err,
			 size_t err_cap)
{
	struct admin a;
	int rc;

	rc = begin(&a, data_dir, sql_get, err, err_cap);
	if (rc == 0)
		rc = bind_key(&a, user, domain);
	if (rc != 0)
		goto out;
	memset(out, 0, sizeof(*out));
	rc = sqlite3_step(a.st);
	if (rc == SQLITE_DONE)
		rc = say(&a, -ENOENT, "no user %s@%s", user, domain);
	else if (rc != SQLITE_ROW)
		rc = db_fail(&a, rc, "cannot read the user");
	else if (store_user_from_row(a.st, out) != 0)
		rc = say(&a, -E2BIG, "user %s@%s: a stored field is too long",
			 user, domain);
	else
		rc = 0;
out:
	end(&a);
	return rc;
}

int store_admin_user_list(const char *data_dir,
			  void (*cb)(void *arg, const struct store_user *u),
			  void *arg, char *err, size_t err_cap)
{
	struct store_user u;
	struct admin a;
	int rc;

	rc = begin(&a, data_dir, sql_list, err, err_cap);
	if (rc != 0)
		goto out;
	while ((rc = sqlite3_step(a.st)) == SQLITE_ROW) {
		memset(&u, 0, sizeof(u));
		if (store_user_from_row(a.st, &u) == 0)
			cb(arg, &u);
	}
	rc = rc == SQLITE_DONE ? 0 : db_fail(&a, rc, "cannot list the users");
out:
	end(&a);
	return rc;
}
