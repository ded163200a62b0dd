/* Iterating ";name=value" lists that a parser already validated. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include "sip/msg/params.h"

#include <errno.h>

static bool is_ws(char c)
{
	return c == ' ' || c == '\t';
}

bool sip_params_next(struct slice *rest, struct sip_param *out)
{
	const char *p, *end, *name, *name_end, *val = NULL, *val_end = NULL;
	bool in_quote = false;

	if (!rest->p)
		return false;
	p = rest->p;
	end = rest->p + rest->len;
	while (p < end && (is_ws(*p) || *p == ';'))
		p++;
	if (p >= end)
		return false;
	name = p;
	while (p < end && *p != '=' && *p != ';' && !is_ws(*p))
		p++;
	name_end = p;
	while (p < end && is_ws(*p))
		p++;
	if (p < end && *p == '=') {
		p++;
		while (p < end && is_ws(*p))
			p++;
		val = p;
		for (; p < end; p++) {
			if (in_quote && *p == '\\' && p + 1 < end) {
				p++;
				continue;
			}
			if (*p == '"')
				in_quote = !in_quote;
			else if (!in_quote && *p == ';')
				break;
		}
		val_end = p;
		while (val_end > val && is_ws(val_end[-1]))
			val_end--;
	}
	while (p < end && *p != ';')
		p++;
	out->name = slice_make(name, (size_t)(name_end - name));
	out->value = val ? slice_make(val, (size_t)(val_end - val))
			 : slice_make(NULL, 0);
	rest->p = p;
	rest->len = (size_t)(end - p);
	return true;
}

int sip_params_get(struct slice params, const char *name, struct slice *value)
{
	struct sip_param prm;
	struct slice rest = params;

	while (sip_params_next(&rest, &prm)) {
		if (slice_caseeq_lit(prm.name, name)) {
			*value = prm.value;
			return 0;
		}
	}
	return -ENOENT;
}

struct slice sip_param_unquote(struct slice v)
{
	if (v.len >= 2 && v.p[0] == '"' && v.p[v.len - 1] == '"')
		return slice_make(v.p + 1, v.len - 2);
	return v;
}
