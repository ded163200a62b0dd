/* Unit tests for the output buffer and its integer/IPv4 formatters. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/mem.h"

static void test_buf_fmt_ip4_matches_inet_ntop(void **state)
{
	static const unsigned char cases[][4] = {
	    {0, 0, 0, 0},    {255, 255, 255, 255}, {127, 0, 0, 1},
	    {10, 0, 100, 9}, {192, 168, 1, 20},	   {1, 22, 199, 200},
	};
	char got[16], want[INET_ADDRSTRLEN];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = buf_fmt_ip4(got, cases[i]);
		inet_ntop(AF_INET, cases[i], want, sizeof(want));
		assert_string_equal(got, want);
		assert_int_equal(n, strlen(want));
	}
	/* Every octet value, in each position. */
	for (unsigned v = 0; v < 256; v++) {
		unsigned char ip[4] = {(unsigned char)v, 7, (unsigned char)v,
				       (unsigned char)(255 - v)};
		buf_fmt_ip4(got, ip);
		inet_ntop(AF_INET, ip, want, sizeof(want));
		assert_string_equal(got, want);
	}
}

static void test_buf_append_uint_pads_and_formats(void **state)
{
	int64_t live = sb_live_get(SB_LIVE_ALLOC);
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(buf_append_uint(&b, 0, 0), 0);
	assert_int_equal(buf_append_str(&b, "|"), 0);
	assert_int_equal(buf_append_uint(&b, 7, 2), 0);
	assert_int_equal(buf_append_str(&b, "|"), 0);
	assert_int_equal(buf_append_uint(&b, 18446744073709551615ull, 0), 0);
	assert_int_equal(buf_append_str(&b, "|"), 0);
	assert_int_equal(buf_append_uint(&b, 1234, 3), 0);
	assert_string_equal(b.p, "0|07|18446744073709551615|1234");
	buf_close(&b);
	assert_int_equal(sb_live_get(SB_LIVE_ALLOC), live);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_buf_fmt_ip4_matches_inet_ntop),
	    cmocka_unit_test(test_buf_append_uint_pads_and_formats),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
