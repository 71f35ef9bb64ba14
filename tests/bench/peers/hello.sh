#!/bin/sh
# hello.sh: the hello CGI program as a /bin/sh script, the same bytes on
# stdout; measures what an interpreter's start costs a CGI server.
printf 'Status: 200 OK\r\nContent-Type: text/plain\r\n\r\nHello, world\n'
