/* Small file-system helpers. */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_BASE_FS_H
#define SB_BASE_FS_H

#include <sys/types.h>

/*
 * mkdir -p: create each missing component of path with mode. Returns 0 when
 * path is (now) a directory, -ENOTDIR, -ENAMETOOLONG (over PATH_MAX),
 * -EINVAL (empty) or the mkdir/stat error. Any thread; no logging.
 */
int sb_mkdir_p(const char *path, mode_t mode);

#endif
