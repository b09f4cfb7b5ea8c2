/*
 * wshttp.c: the opening handshake of a WebSocket, server side (RFC 6455
 * section 4.2; message syntax of RFC 9112). The request is read a line
 * at a time, each line checked as it completes, so a bad request is
 * refused at its first bad line and a slow one costs no rescanning.
 *
 * Written here rather than taken from a library: libevent 2.1's evhttp
 * cannot hand its connection over to WebSocket framing, and
 * http-parser (libhttp-parser-dev) is no longer maintained upstream.
 * One GET with a few header fields is all a WebSocket client sends.
 * SHA-1 and base64 for the accept key come from OpenSSL's libcrypto.
 */
#include <openssl/evp.h>

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "wshttp.h"

#define WSHTTP_F_HOST		0x01
#define WSHTTP_F_UPGRADE	0x02	/* Upgrade names websocket */
#define WSHTTP_F_CONNECTION	0x04	/* Connection names upgrade */
#define WSHTTP_F_VERSION	0x08	/* Sec-WebSocket-Version given */
#define WSHTTP_F_VERSION13	0x10
#define WSHTTP_F_KEY		0x20
#define WSHTTP_F_REQLINE	0x40	/* the request line was read */
#define WSHTTP_F_DONE		0x80	/* a result was returned */

#define WSHTTP_GUID	"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/* A tchar of RFC 9110 section 5.6.2. */
static int
wshttp_tchar(unsigned char ch)
{
	return (isalnum(ch) || (ch != '\0' && strchr("!#$%&'*+-.^_`|~",
	    ch) != NULL));
}

/* Whether the comma-separated list v contains token (any case if icase). */
static int
wshttp_list_has(const char *v, const char *token, int icase)
{
	size_t	 tlen = strlen(token), n;

	while (*v != '\0') {
		while (*v == ' ' || *v == '\t' || *v == ',')
			v++;
		n = strcspn(v, ",");
		while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
			n--;
		if (n == tlen && (icase ? strncasecmp(v, token, n) :
		    strncmp(v, token, n)) == 0)
			return (1);
		v += strcspn(v, ",");
	}
	return (0);
}

/* Whether v is base64 of 16 bytes, as Sec-WebSocket-Key must be. */
static int
wshttp_key_ok(const char *v)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t	 i;

	if (strlen(v) != WSHTTP_KEY_LEN || strcmp(v + 22, "==") != 0)
		return (0);
	for (i = 0; i < 22; i++)
		if (strchr(b64, v[i]) == NULL || v[i] == '\0')
			return (0);
	return (1);
}

/* "GET /target HTTP/1.1". Returns 0 or the status that refuses it. */
static int
wshttp_request_line(char *line)
{
	char	*target, *version;
	size_t	 i;

	if ((target = strchr(line, ' ')) == NULL)
		return (400);
	*target++ = '\0';
	if ((version = strchr(target, ' ')) == NULL)
		return (400);
	*version++ = '\0';
	if (*line == '\0' || *target == '\0')
		return (400);
	for (i = 0; line[i] != '\0'; i++)
		if (!wshttp_tchar(line[i]))
			return (400);
	for (i = 0; target[i] != '\0'; i++)
		if (target[i] <= ' ' || target[i] >= 0x7f)
			return (400);
	if (strlen(version) != 8 || strncmp(version, "HTTP/", 5) != 0 ||
	    !isdigit((unsigned char)version[5]) || version[6] != '.' ||
	    !isdigit((unsigned char)version[7]))
		return (400);
	if (strcmp(line, "GET") != 0)
		return (405);
	if (strcmp(version, "HTTP/1.1") != 0)
		return (505);
	return (0);
}

/* One "Name: value" line. Returns 0 or the status that refuses it. */
static int
wshttp_field(struct wshttp *h, char *line)
{
	char	*v, *end;
	size_t	 i;

	if ((v = strchr(line, ':')) == NULL || v == line)
		return (400);
	*v++ = '\0';
	for (i = 0; line[i] != '\0'; i++)
		if (!wshttp_tchar(line[i]))
			return (400);	/* also a space before the colon */
	while (*v == ' ' || *v == '\t')
		v++;
	end = v + strlen(v);
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	if (strcasecmp(line, "Host") == 0) {
		if ((h->_seen & WSHTTP_F_HOST) || *v == '\0')
			return (400);
		h->_seen |= WSHTTP_F_HOST;
	} else if (strcasecmp(line, "Upgrade") == 0) {
		if (wshttp_list_has(v, "websocket", 1))
			h->_seen |= WSHTTP_F_UPGRADE;
	} else if (strcasecmp(line, "Connection") == 0) {
		if (wshttp_list_has(v, "upgrade", 1))
			h->_seen |= WSHTTP_F_CONNECTION;
	} else if (strcasecmp(line, "Sec-WebSocket-Version") == 0) {
		if (h->_seen & WSHTTP_F_VERSION)
			return (400);
		h->_seen |= WSHTTP_F_VERSION;
		if (strcmp(v, "13") == 0)
			h->_seen |= WSHTTP_F_VERSION13;
	} else if (strcasecmp(line, "Sec-WebSocket-Key") == 0) {
		if ((h->_seen & WSHTTP_F_KEY) || !wshttp_key_ok(v))
			return (400);
		h->_seen |= WSHTTP_F_KEY;
		memcpy(h->key, v, WSHTTP_KEY_LEN + 1);
	} else if (strcasecmp(line, "Sec-WebSocket-Protocol") == 0) {
		/* Subprotocol names are case-sensitive (RFC 6455 11.5). */
		if (wshttp_list_has(v, "transit_relay", 0))
			h->subprotocol = 1;
	} else if (strcasecmp(line, "Content-Length") == 0) {
		if (strspn(v, "0") != strlen(v) || *v == '\0')
			return (400);	/* a GET with a body */
	} else if (strcasecmp(line, "Transfer-Encoding") == 0)
		return (400);
	return (0);
}

/* The blank line ended the request: is it a WebSocket opening? */
static int
wshttp_complete(struct wshttp *h)
{
	if (!(h->_seen & WSHTTP_F_HOST))
		return (400);
	if (!(h->_seen & WSHTTP_F_UPGRADE))
		return (426);
	if (!(h->_seen & WSHTTP_F_CONNECTION) ||
	    !(h->_seen & WSHTTP_F_VERSION))
		return (400);
	if (!(h->_seen & WSHTTP_F_VERSION13))
		return (426);
	if (!(h->_seen & WSHTTP_F_KEY))
		return (400);
	return (101);
}

/* A line (CRLF stripped) is complete. Returns 0, or the final status. */
static int
wshttp_line(struct wshttp *h)
{
	size_t	 i;

	for (i = 0; i < h->_llen; i++) {
		unsigned char ch = h->_line[i];

		/* Controls other than tab, including a lone CR or a NUL. */
		if ((ch < ' ' && ch != '\t') || ch == 0x7f)
			return (400);
	}
	h->_line[h->_llen] = '\0';
	if (!(h->_seen & WSHTTP_F_REQLINE)) {
		h->_seen |= WSHTTP_F_REQLINE;
		return (wshttp_request_line(h->_line));
	}
	if (h->_llen == 0)
		return (wshttp_complete(h));
	/* Line folding is obsolete and refused (RFC 9112 section 5.2). */
	if (h->_line[0] == ' ' || h->_line[0] == '\t')
		return (400);
	if (++h->_nlines > WSHTTP_FIELDS_MAX)
		return (431);
	return (wshttp_field(h, h->_line));
}

int
wshttp_parse(struct wshttp *h, const char *buf, size_t len)
{
	size_t	 i;
	int	 st;

	if (h->_seen & WSHTTP_F_DONE)
		return (h->status == 101 ? 0 : WSHTTP_FAIL);
	for (i = 0; i < len; i++) {
		char ch = buf[i];

		if (++h->_total > WSHTTP_MAX) {
			st = 431;
			goto done;
		}
		if (ch != '\n') {
			h->_line[h->_llen++] = ch;
			continue;
		}
		/* Every line ends in CRLF; a bare LF is refused. */
		if (h->_llen == 0 || h->_line[h->_llen - 1] != '\r') {
			st = 400;
			goto done;
		}
		h->_llen--;
		st = wshttp_line(h);
		h->_llen = 0;
		if (st != 0)
			goto done;
	}
	return (WSHTTP_PARTIAL);
done:
	h->_seen |= WSHTTP_F_DONE;
	h->status = st;
	return (st == 101 ? (int)(i + 1) : WSHTTP_FAIL);
}

int
wshttp_accept(const char *key, char *out)
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	char		 in[WSHTTP_KEY_LEN + sizeof WSHTTP_GUID];
	unsigned int	 mdlen;

	snprintf(in, sizeof in, "%s%s", key, WSHTTP_GUID);
	if (EVP_Digest(in, strlen(in), md, &mdlen, EVP_sha1(), NULL) != 1 ||
	    mdlen != 20)
		return (-1);
	EVP_EncodeBlock((unsigned char *)out, md, 20);
	return (0);
}

/* The reason phrase of a status we send. */
static const char *
wshttp_reason(int status)
{
	switch (status) {
	case 400:
		return ("Bad Request");
	case 405:
		return ("Method Not Allowed");
	case 408:
		return ("Request Timeout");
	case 426:
		return ("Upgrade Required");
	case 431:
		return ("Request Header Fields Too Large");
	case 505:
		return ("HTTP Version Not Supported");
	}
	return ("Service Unavailable");
}

size_t
wshttp_response(const struct wshttp *h, int status, char *out)
{
	const char	*reason, *extra = "";
	char		 accept[32];
	int		 n;

	if (status == 101) {
		if (wshttp_accept(h->key, accept) == -1)
			return (0);
		n = snprintf(out, WSHTTP_RESPONSE_MAX,
		    "HTTP/1.1 101 Switching Protocols\r\n"
		    "Upgrade: websocket\r\n"
		    "Connection: Upgrade\r\n"
		    "Sec-WebSocket-Accept: %s\r\n%s\r\n", accept,
		    h->subprotocol ? "Sec-WebSocket-Protocol: transit_relay\r\n" :
		    "");
		return ((size_t)n);
	}
	if (status == 405)
		extra = "Allow: GET\r\n";
	else if (status == 426)
		extra = "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n";
	else if (status < 400 || status > 599)
		status = 503;
	reason = wshttp_reason(status);
	n = snprintf(out, WSHTTP_RESPONSE_MAX,
	    "HTTP/1.1 %d %s\r\n"
	    "Content-Type: text/plain\r\n"
	    "Content-Length: %zu\r\n"
	    "Connection: close\r\n%s\r\n%s\n", status, reason,
	    strlen(reason) + 1, extra, reason);
	return ((size_t)n);
}
