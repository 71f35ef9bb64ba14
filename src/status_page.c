/*
 * status_path and ping_path: answered by the worker itself, whatever the
 * pool's handler, so a module or CGI pool needs no code for them.  The
 * page is the pool's, not the worker's: every worker of the pool renders
 * the same scoreboard.  Formats follow the query string (?json,
 * ?openmetrics, ?full), as PHP-FPM's status page does, or else the
 * Accept header (OpenMetrics, or Prometheus' text/plain;version=0.0.4),
 * so that Prometheus can scrape the status path as it is.  An unknown
 * query word is a 400.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "pooled.h"

/* Whether the path of REQUEST_URI (before any '?') is path. */
static bool
path_is(const char *uri, const char *path)
{
	size_t	 len;

	if (uri == NULL || path == NULL)
		return false;
	len = strlen(path);
	return strncmp(uri, path, len) == 0 &&
	    (uri[len] == '\0' || uri[len] == '?');
}

static int
serve_status(struct worker *w, struct pooled_req *req)
{
	struct snapshot		 snap;
	enum status_format	 fmt;
	const char		*why;
	char			*page;
	size_t			 len;
	bool			 full;
	int			 rc;

	if (w->sb == NULL)
		return req_respond_error(req, 503, "no scoreboard");
	fmt = status_accept(pooled_req_param(req, "HTTP_ACCEPT"));
	if (status_parse_query(pooled_req_param(req, "QUERY_STRING"), &fmt,
	    &full, &why) == -1)
		return pooled_req_printf(req, "Status: 400 Bad Request\r\n"
		    "Content-Type: text/plain\r\nCache-Control: no-store\r\n"
		    "\r\n400 Bad Request: %s\n", why);
	if (snapshot_take(&snap, w->sb, w->pool, w->listen_fd) == -1)
		return req_respond_error(req, 500, "out of memory");
	page = status_render(&snap.pool, fmt, full, &len);
	snapshot_free(&snap);
	if (page == NULL)
		return req_respond_error(req, 500, "out of memory");
	rc = pooled_req_printf(req, "Status: 200 OK\r\nContent-Type: %s\r\n"
	    "Cache-Control: no-store\r\n\r\n", status_content_type(fmt));
	if (rc == 0)
		rc = pooled_req_write(req, page, len);
	free(page);
	return rc;
}

/*
 * Answer req if it asks for the pool's status_path or ping_path; false
 * when it is the handler's to answer.
 */
bool
status_page_serve(struct worker *w, struct pooled_req *req)
{
	const struct pool_conf	*pc = w->pool;
	const char		*uri = pooled_req_param(req, "REQUEST_URI");

	if (path_is(uri, pc->ping_path)) {
		(void)pooled_req_printf(req, "Status: 200 OK\r\n"
		    "Content-Type: text/plain\r\nCache-Control: no-store\r\n"
		    "\r\n%s\n", pc->ping_response);
		return true;
	}
	if (path_is(uri, pc->status_path)) {
		(void)serve_status(w, req);
		return true;
	}
	return false;
}
