/* Error codes: negative errno values, as in libuv. */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_BASE_ERR_H
#define SB_BASE_ERR_H

#include <errno.h>

/* A short static description of a negative errno (never NULL). */
const char *sb_strerror(int err);

#endif
