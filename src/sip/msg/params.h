/* Generic ";name=value" parameter lists, as in URIs, Via and name-addr. */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_SIP_MSG_PARAMS_H
#define SB_SIP_MSG_PARAMS_H

#include <stdbool.h>

#include "base/slice.h"

/* One parameter; value.p is NULL when there is no '=' (e.g. ";lr"). */
struct sip_param {
	struct slice name;
	struct slice value; /* as received: quotes and escapes kept */
};

/*
 * Iterate a parameter list that a parser already validated, given without
 * its leading ';' ("a=b;lr;c=\"x;y\""). Quoted values may hold ';'.
 * Returns false at the end. *rest advances past the parameter returned.
 */
bool sip_params_next(struct slice *rest, struct sip_param *out);

/*
 * Find a parameter by case-insensitive name. Returns 0 and sets *value
 * (value.p NULL for a flag parameter), or -ENOENT.
 */
int sip_params_get(struct slice params, const char *name, struct slice *value);

/* Strip surrounding quotes from a quoted-string value (escapes kept). */
struct slice sip_param_unquote(struct slice v);

#endif
