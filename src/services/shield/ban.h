/* Password-guessing throttle: failure counters per source and user, bans. */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_SERVICES_SHIELD_BAN_H
#define SB_SERVICES_SHIELD_BAN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "base/slice.h"

/*
 * Authentication failures are counted per source address and per user in
 * a sliding window (the current and the previous window_s, the previous
 * weighted by how much of it still overlaps). A source reaching
 * src_threshold is banned for ban_s seconds. A user reaching
 * user_threshold is not locked out (that would hand anyone a way to lock
 * out a victim); instead every source that then fails on that user is
 * banned at once, which stops guessing spread over many addresses.
 * A success from a source clears that source's and that user's counts.
 *
 * IPv4 sources count per address; IPv6 per ipv6_prefix bits (default /64,
 * what one subscriber line usually gets); IPv4-mapped IPv6 as IPv4.
 *
 * Memory is bounded and allocated once, by ban_new(): max_sources and
 * max_users entries in 16 shards each. When a shard is full the least
 * recently failing counter is evicted; bans are evicted only when a shard
 * holds nothing but bans, oldest ban first. An attacker spraying source
 * addresses therefore recycles counters rather than growing memory or
 * lifting existing bans (until all of a shard's entries are bans).
 *
 * Threads: one ban list serves all workers. Every function but ban_new()
 * and ban_free() may be called from any thread at the same time: each
 * shard has its own mutex, held for a table lookup only (no callback, no
 * I/O, no log under it). ban_check() takes no lock while no source of its
 * shard is banned.
 */
struct ban;

struct ban_opts {
	uint32_t src_threshold;	 /* failures per window per source; 0: 10 */
	uint32_t user_threshold; /* failures per window per user; 0: 20 */
	uint32_t window_s;	 /* counting window; 0: 60 */
	uint32_t ban_s;		 /* ban duration; 0: 600 */
	uint32_t max_sources;	 /* source entries (bans included); 0: 65536 */
	uint32_t max_users;	 /* user entries; 0: 65536 */
	uint8_t ipv6_prefix;	 /* bits of an IPv6 source; 0: 64 */
};

enum {
	BAN_SRC_THRESHOLD_DEFAULT = 10,
	BAN_USER_THRESHOLD_DEFAULT = 20,
	BAN_WINDOW_DEFAULT_S = 60,
	BAN_DURATION_DEFAULT_S = 600,
	BAN_ENTRIES_DEFAULT = 65536,
	BAN_IPV6_PREFIX_DEFAULT = 64
};

/* Counters since ban_new() (relaxed reads) and gauges (under the locks). */
struct ban_stats {
	uint64_t failures;  /* ban_fail() calls counted */
	uint64_t bans;	    /* sources banned */
	uint64_t dropped;   /* ban_check() answers "banned" */
	uint64_t evictions; /* entries recycled because a shard was full */
	uint64_t sources;   /* gauge: source entries in use */
	uint64_t banned;    /* gauge: sources banned (expired ones included
			       until next touched) */
	uint64_t users;	    /* gauge: user entries in use */
};

/*
 * Create the ban list with all its memory. o may be NULL for defaults.
 * Returns 0 and sets *out, -EINVAL (ipv6_prefix above 128), -ENOMEM, or
 * -EIO (no random bytes for the hash key).
 */
int ban_new(const struct ban_opts *o, struct ban **out);
/* Free it; returns NULL. Accepts NULL. No other call may be running. */
struct ban *ban_free(struct ban *b);

/*
 * Is src banned at now_s? Counts a drop when it is. An expired ban is
 * lifted here (the source starts from zero failures). src is AF_INET or
 * AF_INET6; any other family (or NULL) is never banned.
 */
bool ban_check(struct ban *b, const struct sockaddr *src, int64_t now_s);

/*
 * Count an authentication failure of src for user (unquoted username as
 * sent; empty or unset when there was none) at now_s. Returns true when
 * src is banned after it (newly or already). Count only failures where a
 * password was tried (auth_result_is_guess()), so that stale nonces or a
 * restart's forgotten nonces never ban a phone.
 */
bool ban_fail(struct ban *b, const struct sockaddr *src, struct slice user,
	      int64_t now_s);

/*
 * A success of src for user: forget their failure counts (a ban of src,
 * if any, stays). Either may be unset.
 */
void ban_success(struct ban *b, const struct sockaddr *src, struct slice user);

/* Lift a ban and forget src's counts. Returns 0, or -ENOENT. */
int ban_lift(struct ban *b, const struct sockaddr *src);

void ban_stats_get(struct ban *b, struct ban_stats *out);

#endif
