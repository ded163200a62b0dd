/* Fast non-cryptographic randomness for tags and branches. */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_BASE_RAND_H
#define SB_BASE_RAND_H

#include <stdint.h>

/*
 * xorshift64* with one state per thread, seeded from getrandom(2) on first
 * use: unique and unpredictable enough for To tags, branches and Call-IDs,
 * NOT for secrets (nonces and keys use OpenSSL's RAND_bytes). Any thread.
 */
uint64_t sb_rand64(void);

#endif
