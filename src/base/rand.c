/* Per-thread xorshift64* generator for protocol identifiers. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include "base/rand.h"

#include <stdint.h>
#include <sys/random.h>
#include <time.h>

static _Thread_local uint64_t state;

uint64_t sb_rand64(void)
{
	uint64_t x = state;

	if (x == 0) {
		if (getrandom(&x, sizeof(x), 0) != sizeof(x))
			x = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)&x;
		x |= 1;
	}
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	state = x;
	return x * 0x2545F4914F6CDD1DULL;
}
