/* Named limits on everything outside input controls, with safe defaults. */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_BASE_LIMITS_H
#define SB_BASE_LIMITS_H

#include <stdint.h>

/* Hard ceilings: config values above these are refused. */
enum sb_limit_ceiling {
	SB_MSG_BYTES_CEILING = 262144,	 /* one SIP message */
	SB_HEADERS_CEILING = 1024,	 /* header lines per message */
	SB_PARAMS_CEILING = 256,	 /* parameters per header value or URI */
	SB_VALUES_CEILING = 1024,	 /* comma-separated values per header id */
	SB_MULTIPART_DEPTH_CEILING = 8,	 /* nested multipart bodies */
	SB_MULTIPART_PARTS_CEILING = 256 /* parts per multipart body */
};

/*
 * Per-message parser limits. A config snapshot owns one; the parser reads it
 * and never writes. Defaults come from sb_limits_default().
 */
struct sb_limits {
	uint32_t max_msg_bytes;	      /* whole message, headers + body; 413 */
	uint32_t max_headers;	      /* header lines; 400 */
	uint32_t max_header_bytes;    /* one header line incl. folding; 400 */
	uint32_t max_params;	      /* params of one value or URI; 400 */
	uint32_t max_values;	      /* values of one header id (Via...); 400 */
	uint32_t max_multipart_depth; /* nested multipart bodies */
	uint32_t max_multipart_parts; /* parts in one multipart body */
	uint32_t max_arena_bytes;     /* parser memory per message */
};

static inline struct sb_limits sb_limits_default(void)
{
	return (struct sb_limits){
		.max_msg_bytes = 65535,
		.max_headers = 128,
		.max_header_bytes = 8192,
		.max_params = 32,
		.max_values = 64,
		.max_multipart_depth = 3,
		.max_multipart_parts = 16,
		.max_arena_bytes = 262144,
	};
}

#endif
