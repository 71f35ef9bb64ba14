#!/bin/sh
# hello.cgi: the smallest CGI program, for the demo's cgi pool.  It shows
# what pooled hands a program: the query string, PATH_INFO and the body.
printf 'Content-Type: text/plain\r\n\r\n'
printf 'Hello from a CGI program (pid %s)\n' "$$"
printf 'QUERY_STRING=%s\n' "$QUERY_STRING"
printf 'PATH_INFO=%s\n' "$PATH_INFO"
if [ -n "$CONTENT_LENGTH" ]; then
	printf 'body bytes: %s\n' "$(head -c "$CONTENT_LENGTH" | wc -c)"
fi
