/* File-system helpers: directory creation. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include "base/fs.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

int sb_mkdir_p(const char *path, mode_t mode)
{
	char p[PATH_MAX];
	size_t len = strlen(path);
	struct stat st;

	if (len == 0)
		return -EINVAL;
	if (len >= sizeof(p))
		return -ENAMETOOLONG;
	memcpy(p, path, len + 1);
	for (size_t i = 1; i <= len; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		p[i] = '\0';
		if (mkdir(p, mode) != 0 && errno != EEXIST)
			return -errno;
		p[i] = i < len ? '/' : '\0';
	}
	if (stat(path, &st) != 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}
