/*
 * The header block at the start of a CGI program's output (RFC 3875
 * section 6): header lines up to the first empty line, each ending in LF
 * or CRLF.  pooled relays the lines it accepts to the web server, so what
 * could be read two ways is refused here, with a reason, and becomes a
 * 502: a line without a colon, a name that is not a token (a space before
 * the colon), folded continuation lines, NUL bytes, a CR that does not
 * end a line, a Status that is not a three-digit code.  A block without
 * Content-Type passes, as fcgiwrap and Apache pass it: the web server
 * applies its default type.
 *
 * The parser keeps no state: the caller passes everything read so far
 * each time, and nothing is copied.  Only the first CGI_HEADER_MAX bytes
 * are ever looked at, so a caller that reads into a buffer of
 * CGI_HEADER_MAX + 1 bytes always gets an answer other than
 * CGI_HEADER_MORE once that buffer is full.
 * XXX A program that writes its header a byte at a time makes each call
 * rescan what came before; cgi_timeout bounds the cost.
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "pooled.h"

/* The largest header block accepted, blank line included. */
#define CGI_HEADER_MAX		(64 * 1024)

/* The longest path an internal redirect may have. */
#define CGI_PATH_MAX		4096

static bool
name_is(const char *name, size_t namelen, const char *what)
{
	return namelen == strlen(what) &&
	    strncasecmp(name, what, namelen) == 0;
}

/*
 * A Status value, surrounding blanks stripped: three digits, 100 to 999,
 * then nothing or a space and a reason phrase.
 */
static int
parse_status(const char *v, size_t len)
{
	size_t	 i;

	if (len < 3 || (len > 3 && v[3] != ' '))
		return -1;
	for (i = 0; i < 3; i++)
		if (v[i] < '0' || v[i] > '9')
			return -1;
	if (v[0] == '0')
		return -1;
	return (v[0] - '0') * 100 + (v[1] - '0') * 10 + (v[2] - '0');
}

/* Check one header line, line ending removed, and note what it says. */
static const char *
parse_line(const char *line, size_t len, struct cgi_header *h)
{
	const char	*colon, *v;
	size_t		 namelen, vlen, i;

	if (memchr(line, '\0', len) != NULL)
		return "a NUL byte in the header block";
	if (memchr(line, '\r', len) != NULL)
		return "a CR not followed by LF in the header block";
	if (line[0] == ' ' || line[0] == '\t')
		return "a continuation line (obsolete line folding)";
	if ((colon = memchr(line, ':', len)) == NULL)
		return "a header line without ':'";
	if ((namelen = (size_t)(colon - line)) == 0)
		return "an empty header name";
	for (i = 0; i < namelen; i++)
		if (!http_tchar((unsigned char)line[i]))
			return "a header name that is not a token";

	v = colon + 1;
	vlen = len - namelen - 1;
	while (vlen > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		vlen--;
	}
	while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;

	if (name_is(line, namelen, "Status")) {
		/* Two would leave the web server to pick one. */
		if (h->status != 0)
			return "more than one Status header";
		if ((h->status = parse_status(v, vlen)) == -1) {
			h->status = 0;
			return "a Status that is not a 3-digit code 100-999";
		}
	} else if (name_is(line, namelen, "Content-Type"))
		h->has_content_type = true;
	else if (name_is(line, namelen, "Location")) {
		h->has_location = true;
		h->location = v;
		h->location_len = vlen;
	}
	h->nheaders++;
	return NULL;
}

/*
 * Parse the start of a CGI program's output, len bytes in buf.
 * CGI_HEADER_MORE while the header block is incomplete, CGI_HEADER_DONE
 * with h filled in (h->length covers the block and its blank line, not
 * the body after it), CGI_HEADER_BAD with *why for a malformed block or
 * one larger than 64 KiB.
 */
enum cgi_header_state
cgi_header_parse(const char *buf, size_t len, struct cgi_header *h,
    const char **why)
{
	const char	*nl, *bad;
	size_t		 off = 0, lim, end;

	memset(h, 0, sizeof(*h));
	lim = len < CGI_HEADER_MAX ? len : CGI_HEADER_MAX;
	while (off < lim && (nl = memchr(buf + off, '\n', lim - off)) != NULL) {
		end = (size_t)(nl - buf);
		if (end > off && buf[end - 1] == '\r')
			end--;
		if (end == off) {
			/* The blank line that ends the block. */
			if (off == 0) {
				*why = "an empty header block";
				return CGI_HEADER_BAD;
			}
			h->length = (size_t)(nl - buf) + 1;
			return CGI_HEADER_DONE;
		}
		if ((bad = parse_line(buf + off, end - off, h)) != NULL) {
			*why = bad;
			return CGI_HEADER_BAD;
		}
		off = (size_t)(nl - buf) + 1;
	}
	if (len > CGI_HEADER_MAX) {
		*why = "header block larger than 64 KiB";
		return CGI_HEADER_BAD;
	}
	return CGI_HEADER_MORE;
}

static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Whether a local redirect's Location (len bytes) may become an nginx
 * X-Accel-Redirect: its path, percent-decoded as nginx decodes it, must
 * begin with prefix (NULL: any path) and hold no "//", "." or ".."
 * segment, backslash, control byte or '#', so that it cannot step out of
 * the prefix, nor reach a location other than the one it reads as.  The
 * query after '?' is the program's business.  What fails here is
 * answered with a client redirect instead, which is always safe.
 */
bool
cgi_header_internal_path(const char *loc, size_t len, const char *prefix)
{
	char		 path[CGI_PATH_MAX];
	const char	*q;
	size_t		 i, n = 0;
	int		 hi, lo;
	unsigned char	 c;

	if ((q = memchr(loc, '?', len)) != NULL)
		len = (size_t)(q - loc);
	if (len == 0 || loc[0] != '/')
		return false;
	for (i = 0; i < len; i++) {
		if (n == sizeof(path) - 1)
			return false;
		c = (unsigned char)loc[i];
		if (c == '%') {
			if (len - i < 3 || (hi = hex_digit(loc[i + 1])) == -1 ||
			    (lo = hex_digit(loc[i + 2])) == -1)
				return false;
			c = (unsigned char)(hi * 16 + lo);
			i += 2;
		}
		if (c < 0x20 || c == 0x7f || c == '\\' || c == '#')
			return false;
		path[n++] = (char)c;
	}
	path[n] = '\0';
	if (strstr(path, "//") != NULL || strstr(path, "/./") != NULL ||
	    strstr(path, "/../") != NULL ||
	    (n >= 2 && strcmp(path + n - 2, "/.") == 0) ||
	    (n >= 3 && strcmp(path + n - 3, "/..") == 0))
		return false;
	return prefix == NULL || strncmp(path, prefix, strlen(prefix)) == 0;
}

/*
 * The offset in a local redirect's Location (len bytes, beginning with
 * '/') where its path goes on after the run of '/', '\\' and tab that
 * begins it.  Sent to a client, "//host/x", "/\\host/x" and
 * "/<tab>/host/x" all name another host (browsers read a backslash as a
 * slash and drop tabs), so the client redirect made of a local one is
 * "/" and what follows the run: a path on this server, as the program
 * asked for.
 */
size_t
cgi_header_path_rest(const char *loc, size_t len)
{
	size_t	 i = 0;

	while (i < len && (loc[i] == '/' || loc[i] == '\\' || loc[i] == '\t'))
		i++;
	return i;
}
