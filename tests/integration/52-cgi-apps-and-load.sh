#!/usr/bin/env bash
# 52-cgi-apps-and-load: handler = "cgi" with a real application from
# Debian and under load.  cgit serves a small git repository made here,
# behind cgit's usual nginx setup (SCRIPT_FILENAME naming cgit.cgi,
# PATH_INFO $uri); 200 concurrent programs through 2 workers x 16 threads
# all get their own answer and leave no child and no descriptor behind; a
# program flooding stderr has every line logged and its answer intact;
# crashing programs get a 502 (before a header) or what they sent (after
# it), and a log line saying how they ended.
. "$(dirname "$0")/lib.sh"

CGI=$T/cgi
mkdir -p "$CGI"

# cgi NAME BODY: an executable shell CGI program.
cgi()
{
	printf '#!/bin/sh\n%s\n' "$2" >"$CGI/$1"
	chmod 755 "$CGI/$1"
}

# The load program: a short sleep, then its own id back.  (The programs'
# own variables are for their shell to expand.)
# shellcheck disable=SC2016
cgi id.sh 'sleep 0.05; printf "Content-Type: text/plain\n\nid=%s\n" "$QUERY_STRING"'
cgi hello.sh 'printf "Content-Type: text/plain\n\nhello\n"'
# 20000 lines of 100 bytes on stderr, then a normal answer.
cgi flood.sh 'awk '\''BEGIN { x = sprintf("%88s", ""); gsub(/ /, "x", x);
	for (i = 1; i <= 20000; i++) printf "flood %05d %s\n", i, x > "/dev/stderr" }'\''
printf "Content-Type: text/plain\n\nsurvived the flood\n"'
# Crashes: before anything, and after a complete header and some body.
cgi crash.sh 'ulimit -c 0; kill -SEGV $$'
cgi crash-late.sh 'ulimit -c 0; printf "Content-Type: text/plain\n\npartial body\n"; kill -SEGV $$; echo never'
have_cc=0
if command -v "${CC:-cc}" >/dev/null 2>&1; then
	cat >"$T/segv.c" <<'C'
#include <stdio.h>
#include <sys/resource.h>

int
main(void)
{
	struct rlimit	 no = { 0, 0 };

	setrlimit(RLIMIT_CORE, &no);
	return *(volatile int *)0;
}
C
	"${CC:-cc}" -o "$CGI/segv.cgi" "$T/segv.c" 2>"$T/cc.log" && have_cc=1
fi

# cgit ---------------------------------------------------------------------
CGIT=/usr/lib/cgit/cgit.cgi
have_cgit=0
if [ -x "$CGIT" ] && command -v git >/dev/null 2>&1; then
	have_cgit=1
fi
REPO=pooltest
FILE_CONTENT='Hello from the pooled cgit test, line 4242.'
COMMIT_MSG='Add the greeting file for pooled'
if [ "$have_cgit" = 1 ]; then
	mkdir -p "$T/repos" "$T/cgit-cache"
	(
		export HOME=$T GIT_CONFIG_NOSYSTEM=1
		git init -q --bare "$T/repos/$REPO.git" &&
		git clone -q "$T/repos/$REPO.git" "$T/clone" 2>/dev/null &&
		cd "$T/clone" &&
		printf '%s\n' "$FILE_CONTENT" >greeting.txt &&
		git add greeting.txt &&
		git -c user.name=Tester -c user.email=tester@example.com \
		    commit -q -m "$COMMIT_MSG" &&
		git push -q origin HEAD:refs/heads/master 2>/dev/null &&
		git --git-dir="$T/repos/$REPO.git" symbolic-ref HEAD \
		    refs/heads/master
	) >"$T/git.log" 2>&1 || bail_out "the test repository: $(cat "$T/git.log")"
	cat >"$T/cgitrc" <<EOF
cache-size=0
cache-root=$T/cgit-cache
virtual-root=/
root-title=pooled cgit test
enable-index-links=1
repo.url=$REPO
repo.path=$T/repos/$REPO.git
repo.desc=a repository for the pooled test
EOF
fi

# Two pools: cgit (its root and CGIT_CONFIG), and the load pool.
write_pool_conf \
    "$(pool_block cgit "$T/cgit.sock" hello 'processes = 1' 'threads = 4' \
	'cgi_timeout = 30')" \
    "$(pool_block cgi "$T/cgi.sock" hello 'processes = 2' 'threads = 16' \
	'cgi_timeout = 30' 'request_log_max = 16777216')"
sed -i -e "/module = /d" "$POOLED_CONF"
sed -i -e "/^pool cgit {/,/^}/s|handler = \"module\"|handler = \"cgi\"\n\tcgi_root = {\"/usr/lib/cgit\"}\n\tenv = {\"PATH=/usr/bin:/bin\", \"CGIT_CONFIG=$T/cgitrc\"}|" \
    -e "/^pool cgi {/,/^}/s|handler = \"module\"|handler = \"cgi\"\n\tcgi_root = {\"$CGI\"}\n\tenv = {\"PATH=/usr/bin:/bin\"}|" \
    "$POOLED_CONF"
start_pooled || bail_out "pooled did not start"

if [ "$have_cgit" = 1 ]; then
	# cgit's usual nginx setup, at the server's root.
	NGINX_EXTRA="fastcgi_param SCRIPT_FILENAME $CGIT;
fastcgi_param PATH_INFO \$uri;
fastcgi_param QUERY_STRING \$args;
fastcgi_param HTTP_HOST \$server_name;" \
	    start_nginx "unix:$T/cgit.sock" || bail_out "nginx did not start"
	access_mark=$(wc -l <"$T/nginx/access.log")
	log_mark

	http_get /
	assert_status "cgit index: 200" 200
	assert_contains "cgit index: lists the repository" "$HTTP_BODY" \
	    "href='/$REPO/'"
	assert_contains "cgit index: with its description" "$HTTP_BODY" \
	    "a repository for the pooled test"

	http_get "/$REPO/log/"
	assert_status "cgit log: 200" 200
	assert_contains "cgit log: the commit message" "$HTTP_BODY" \
	    "$COMMIT_MSG"
	http_get "/$REPO/"
	assert_status "cgit summary: 200" 200
	assert_contains "cgit summary: the commit message" "$HTTP_BODY" \
	    "$COMMIT_MSG"

	http_get "/$REPO/tree/"
	assert_status "cgit tree: 200" 200
	assert_contains "cgit tree: names the file" "$HTTP_BODY" greeting.txt
	http_get "/$REPO/tree/greeting.txt"
	assert_status "cgit blob: 200" 200
	assert_contains "cgit blob: the file's content" "$HTTP_BODY" \
	    "$FILE_CONTENT"

	http_get "/$REPO/plain/greeting.txt"
	assert_status "cgit plain: 200" 200
	printf '%s\n' "$FILE_CONTENT" >"$T/greeting.expected"
	assert_true "cgit plain: exactly the file" \
	    cmp -s "$T/greeting.expected" "$HTTP_BODY_FILE"
	assert_contains "cgit plain: a text Content-Type" \
	    "$(http_header Content-Type)" text/plain

	http_get /no-such-repo/log/
	assert_status "cgit, a missing repository: 404" 404
	assert_contains "cgit, a missing repository: cgit's page" \
	    "$HTTP_BODY" "No repositories found"

	# nginx's access log ("combined": the status is field 9) has the 7
	# requests (nginx logs a request just after its answer), none
	# answered 5xx.
	cgit_logged()
	{
		tail -n "+$((access_mark + 1))" "$T/nginx/access.log" \
		    >"$T/cgit.access"
		[ "$(grep -c '"GET /' "$T/cgit.access")" -ge 7 ]
	}
	wait_for 5 cgit_logged
	assert_eq "cgit: nginx logged the 7 requests" 7 \
	    "$(grep -c '"GET /' "$T/cgit.access")"
	assert_eq "cgit: no 5xx answered" "" \
	    "$(awk '$9 ~ /^5/' "$T/cgit.access")"
	assert_no_log "cgit: pooled logged no error" \
	    'cgit\[[0-9]+\].*(error|502|503|504|cannot|malformed|before a complete|killed)'
	assert_no_log "cgit: pooled logged no stderr of cgit" 'cgit.cgi: stderr:'
	stop_nginx
else
	skip "cgit" "cgit or git not installed"
fi

# Load and leaks -------------------------------------------------------------
NGINX_WORKER_CONNECTIONS=1024 NGINX_EXTRA="root $T;
fastcgi_param SCRIPT_FILENAME \$document_root\$fastcgi_script_name;
fastcgi_param DOCUMENT_ROOT \$document_root;" \
    start_nginx "/cgi/=unix:$T/cgi.sock" || bail_out "nginx did not start"

workers=$(pool_workers cgi)
assert_eq "the cgi pool has 2 workers" 2 "$(count_lines "$workers")"

# fd_counts: "PID:COUNT" of each cgi worker, one a line.
fd_counts()
{
	local w

	for w in $workers; do
		# shellcheck disable=SC2012	# only counted
		printf '%s:%s\n' "$w" "$(ls "/proc/$w/fd" 2>/dev/null | wc -l)"
	done
}

# no_children: no cgi worker has a child, live or zombie.
no_children()
{
	local w

	for w in $workers; do
		[ -z "$(children_of "$w")" ] || return 1
	done
	return 0
}

# Warm both workers up, so what they open once is open before the count.
for _ in $(seq 1 8); do
	http_get "/cgi/hello.sh"
done
assert_status "a warm-up request: 200" 200
wait_for 5 no_children
fds_before=$(fd_counts)
diag "fds before: $(printf '%s' "$fds_before" | tr '\n' ' ')"

N=200
{
	for i in $(seq 1 "$N"); do
		printf 'url = "%s/cgi/id.sh?%d"\noutput = "%s/load/%d"\n' \
		    "$NGINX_URL" "$i" "$T" "$i"
	done
} >"$T/load.curl"
mkdir -p "$T/load"
load_start=$SECONDS
curl -sS -Z --parallel-immediate --parallel-max "$N" --max-time 60 \
    -K "$T/load.curl" -w '%{http_code} %{url}\n' >"$T/load.codes" \
    2>"$T/load.err" &
load_pid=$!
track_pid "$load_pid"
reap_pid "$load_pid" 90 || diag "the load's curl did not end in 90 s"
diag "200 concurrent requests took about $((SECONDS - load_start)) s"
ok=0
bad_list=
for i in $(seq 1 "$N"); do
	if [ "$(cat "$T/load/$i" 2>/dev/null)" = "id=$i" ]; then
		ok=$((ok + 1))
	else
		bad_list="$bad_list $i"
	fi
done
assert_eq "200 concurrent requests: all answered with their own id" \
    "$N" "$ok" || diag "wrong or missing:${bad_list:0:400}"
assert_eq "200 concurrent requests: all 200" "$N" \
    "$(grep -c '^200 ' "$T/load.codes")" ||
    diag "$(grep -v '^200 ' "$T/load.codes" | head -n 5) $(head -n 5 "$T/load.err")"

wait_for 10 no_children
assert_eq "no child left under a cgi worker (no zombie)" "" \
    "$(for w in $workers; do children_of "$w"; done)"
fds_settled() { [ "$(fd_counts)" = "$fds_before" ]; }
wait_for 10 fds_settled
assert_eq "the workers' open descriptors are as before the burst" \
    "$fds_before" "$(fd_counts)"
assert_eq "the same 2 workers still serve" "$workers" "$(pool_workers cgi)"

# A stderr flood (request_log_max raised: 72-log-limits tests the cap) ---
log_mark
http_get "/cgi/flood.sh" --max-time 60
assert_status "stderr flood: 200" 200
assert_eq "stderr flood: the answer" "survived the flood" "$HTTP_BODY"
# Every line, whole: "flood NNNNN" and 88 x's.
flood_re="cgi\[[0-9]+\]: req [0-9]+: $(realpath "$CGI")/flood.sh: stderr: flood [0-9]{5} x{88}$"
flood_count() { [ "$(log_count "$flood_re")" -ge 20000 ]; }
wait_for 10 flood_count
n=$(log_count "$flood_re")
diag "stderr flood: $n of 20000 lines logged"
assert_true "stderr flood: at least 19000 of 20000 lines logged whole" \
    test "$n" -ge 19000
assert_eq "stderr flood: no line logged twice" "$n" \
    "$(log_since_mark | grep -E -e "$flood_re" |
    grep -E -o 'flood [0-9]{5}' | sort -u | wc -l)"
assert_eq "stderr flood: the workers still live" "$workers" \
    "$(pool_workers cgi)"
http_get "/cgi/id.sh?after-flood"
assert_eq "stderr flood: the pool still answers" "id=after-flood" \
    "$HTTP_BODY"

# Crashes ------------------------------------------------------------------
log_mark
http_get "/cgi/crash.sh"
assert_status "a crash before any output: 502" 502
assert_log "a crash before any output: logged with program and signal" \
    "$(realpath "$CGI")/crash.sh: killed by signal 11"
if [ "$have_cc" = 1 ]; then
	http_get "/cgi/segv.cgi"
	assert_status "a compiled program's SIGSEGV: 502" 502
	assert_log "a compiled program's SIGSEGV: logged" \
	    "$(realpath "$CGI")/segv.cgi: killed by signal 11"
else
	skip "a compiled program's SIGSEGV" "no C compiler: $(cat "$T/cc.log")"
fi
log_mark
http_get "/cgi/crash-late.sh"
assert_status "a crash after the header: 200" 200
assert_eq "a crash after the header: what was sent arrives" \
    "partial body" "$HTTP_BODY"
assert_log "a crash after the header: logged with program and signal" \
    "$(realpath "$CGI")/crash-late.sh: .*killed by signal 11"

wait_for 5 no_children
assert_eq "after the crashes: no child left under a cgi worker" "" \
    "$(for w in $workers; do children_of "$w"; done)"
assert_eq "after the crashes: the same workers" "$workers" \
    "$(pool_workers cgi)"
wait_for 10 fds_settled
assert_eq "after the flood and the crashes: descriptors as at the start" \
    "$fds_before" "$(fd_counts)"
done_testing
