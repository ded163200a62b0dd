/* Editing a received message for forwarding: a patch list applied at print. */
/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef SB_SIP_MSG_PATCH_H
#define SB_SIP_MSG_PATCH_H

#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"
#include "sip/msg/msg.h"

/* Replace msg bytes [off, off+del) by ins (del 0: pure insertion). */
struct sip_patch {
	uint32_t off;
	uint32_t del;
	struct slice ins; /* bytes owned by the patch set's arena or static */
	uint32_t seq;	  /* insertion order, for inserts at the same offset */
};

/*
 * A patch layer over one message. A fork branch makes its own layer with
 * base = the shared layer; the base must outlive it and must not change
 * while a child exists. Patches that overlap a patch in this layer or any
 * base layer are refused with -EINVAL (two inserts at one offset are fine:
 * they print in the order they were added, base layers first).
 */
struct sip_patchset {
	const struct sip_msg *msg;
	const struct sip_patchset *base;
	struct arena *arena; /* holds patches and copied insert text */
	struct sip_patch *v;
	uint32_t n, cap;
	uint32_t seq; /* next insertion order, continues the base's */
};

void sip_patchset_init(struct sip_patchset *ps, const struct sip_msg *m,
		       struct arena *a, const struct sip_patchset *base);

/* Raw edit; ins is copied into the arena. 0, -EINVAL, -ENOMEM. */
int sip_patch_add(struct sip_patchset *ps, uint32_t off, uint32_t del,
		  struct slice ins);

/* Remove a whole header line (with its CRLF). */
int sip_patch_hdr_remove(struct sip_patchset *ps, const struct sip_hdr *h);
/* Replace a header's value, keeping its name. */
int sip_patch_hdr_set_value(struct sip_patchset *ps, const struct sip_hdr *h,
			    struct slice value);
/* Insert "Name: value\r\n" before the first header line (new top Via). */
int sip_patch_hdr_prepend(struct sip_patchset *ps, struct slice name,
			  struct slice value);
/* Insert "Name: value\r\n" after the last header line. */
int sip_patch_hdr_append(struct sip_patchset *ps, struct slice name,
			 struct slice value);
/* Insert "Name: value\r\n" right before header line h. */
int sip_patch_hdr_insert_before(struct sip_patchset *ps,
				const struct sip_hdr *h, struct slice name,
				struct slice value);
/* Remove the top Via value (the whole line if it is alone on it). */
int sip_patch_via_remove_top(struct sip_patchset *ps);
/* Remove one name-addr value (Route ...) from its line, or the line. */
int sip_patch_nameaddr_remove(struct sip_patchset *ps,
			      const struct sip_nameaddr *na);
/* Replace the Request-URI. */
int sip_patch_ruri_set(struct sip_patchset *ps, struct slice uri);
/* Replace the body and fix (or add) Content-Length. */
int sip_patch_body_set(struct sip_patchset *ps, struct slice body);

/*
 * Print the message with all layers applied, appending to out. Unchanged
 * bytes are copied as runs, never re-serialised. Returns 0 or a buf error.
 */
int sip_msg_print(const struct sip_patchset *ps, struct buf *out);

#endif
