/* Config loader: b2bua.response_map, a final status mapped to another. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <stdio.h>

#include "runtime/config_int.h"

enum { STATUS_MIN = 300, STATUS_MAX = 699 };

/* "486: 480" pairs; replaces the defaults; a status at most once. */
int config_on_response_map(struct loader *ld, const char *key, yaml_node_t *k,
			   yaml_node_t *v)
{
	struct config_b2bua *b = &ld->c->b2bua;
	char item_key[CONFIG_KEY_MAX];

	if (v->type != YAML_MAPPING_NODE)
		return config_fail(
		    ld, &k->start_mark, key,
		    "must be a mapping of status: status, not %s",
		    config_describe(v));
	b->nmap = 0;
	for (yaml_node_pair_t *p = v->data.mapping.pairs.start;
	     p < v->data.mapping.pairs.top; p++) {
		yaml_node_t *pk = yaml_document_get_node(ld->doc, p->key);
		yaml_node_t *pv = yaml_document_get_node(ld->doc, p->value);
		uint32_t from, to;
		int rc;

		snprintf(item_key, sizeof(item_key), "%s[%zu]", key, b->nmap);
		if (b->nmap == CONFIG_RESPONSE_MAP_MAX)
			return config_fail(ld, &pk->start_mark, item_key,
					   "at most %d entries are allowed",
					   CONFIG_RESPONSE_MAP_MAX);
		rc = config_get_u32(ld, item_key, pk, pk, STATUS_MIN,
				    STATUS_MAX, &from);
		if (rc == 0)
			rc = config_get_u32(ld, item_key, pk, pv, STATUS_MIN,
					    STATUS_MAX, &to);
		if (rc != 0)
			return rc;
		for (size_t i = 0; i < b->nmap; i++)
			if (b->map_from[i] == from)
				return config_fail(
				    ld, &pk->start_mark, item_key,
				    "%u is mapped twice", (unsigned)from);
		b->map_from[b->nmap] = (uint16_t)from;
		b->map_to[b->nmap++] = (uint16_t)to;
	}
	return 0;
}

uint16_t config_b2bua_map(const struct config_b2bua *b, uint16_t status)
{
	for (size_t i = 0; i < b->nmap; i++)
		if (b->map_from[i] == status)
			return b->map_to[i];
	return status;
}
