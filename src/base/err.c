/* Names for negative errno codes. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include "base/err.h"

#include <string.h>

const char *sb_strerror(int err)
{
	if (err == 0)
		return "success";
	return strerror(err < 0 ? -err : err);
}
