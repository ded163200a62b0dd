/* rtpgen: the SDP of one endpoint, and the media address of a peer's SDP. */
/* SPDX-License-Identifier: BSD-2-Clause */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "rtpgen.h"

int rg_sdp_print(char *out, size_t cap, const struct sockaddr_in *media,
		 uint32_t session_id)
{
	char ip[INET_ADDRSTRLEN];
	int n;

	inet_ntop(AF_INET, &media->sin_addr, ip, sizeof(ip));
	n = snprintf(out, cap,
		     "v=0\r\n"
		     "o=rtpgen %u 1 IN IP4 %s\r\n"
		     "s=rtpgen\r\n"
		     "c=IN IP4 %s\r\n"
		     "t=0 0\r\n"
		     "m=audio %u RTP/AVP 0 101\r\n"
		     "a=rtpmap:0 PCMU/8000\r\n"
		     "a=rtpmap:101 telephone-event/8000\r\n"
		     "a=fmtp:101 0-16\r\n"
		     "a=ptime:20\r\n"
		     "a=sendrecv\r\n",
		     session_id, ip, ip, ntohs(media->sin_port));
	if (n < 0 || (size_t)n >= cap)
		return -E2BIG;
	return n;
}

/* Copies the rest of the line at p (at most cap - 1 bytes) into out. */
static void line_copy(const char *p, const char *end, char *out, size_t cap)
{
	size_t n = 0;

	while (p + n < end && p[n] != '\r' && p[n] != '\n' && n + 1 < cap)
		n++;
	memcpy(out, p, n);
	out[n] = '\0';
}

/*
 * The first audio stream's port and its connection address: the c= line
 * of the media section if it has one, else the session's.
 */
int rg_sdp_peer(const char *body, size_t len, struct sockaddr_in *out)
{
	const char *p = body, *end = body + len;
	char line[128], addr[INET_ADDRSTRLEN] = "";
	unsigned port = 0;
	bool is_in_audio = false, has_audio = false;

	while (p < end) {
		line_copy(p, end, line, sizeof(line));
		if (!strncmp(line, "m=", 2)) {
			if (has_audio)
				break;
			is_in_audio = sscanf(line, "m=audio %u", &port) == 1;
			has_audio = is_in_audio;
		} else if (!strncmp(line, "c=IN IP4 ", 9) &&
			   (is_in_audio || !has_audio)) {
			char *slash;

			snprintf(addr, sizeof(addr), "%.15s", line + 9);
			slash = strchr(addr, '/');
			if (slash)
				*slash = '\0';
		}
		p = memchr(p, '\n', (size_t)(end - p));
		if (!p)
			break;
		p++;
	}
	if (!has_audio || !port || port > 65535 || !addr[0])
		return -EBADMSG;
	memset(out, 0, sizeof(*out));
	out->sin_family = AF_INET;
	out->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, addr, &out->sin_addr) != 1)
		return -EBADMSG;
	return 0;
}
