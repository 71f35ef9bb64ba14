#!/usr/bin/env bash
# 58-cgi-hostile: CGI programs that try to outlive their request.  One
# moves itself into the worker's process group (setpgid), out of the
# group pooled kills: it is killed at cgi_timeout all the same, and its
# thread serves on.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	skip_all "needs root: pool users"
fi
command -v python3 >/dev/null || skip_all "no python3"

CGI=$T/cgi
mkdir -p "$CGI"

# pycgi NAME BODY: an executable Python CGI program.
pycgi()
{
	printf '#!/usr/bin/python3\n%s\n' "$2" >"$CGI/$1"
	chmod 755 "$CGI/$1"
}

# Into the worker's process group (the worker leads its session), then
# the answer, then 60 s of sleep that only a kill of its own pid ends.
pycgi pgid.py "import os, sys, time
os.setpgid(0, os.getpgid(os.getppid()))
open('$W/pgid.pid', 'w').write(str(os.getpid()))
sys.stdout.write('Content-Type: text/plain\n\nmoved\n')
sys.stdout.flush()
os.close(1)
time.sleep(60)"
printf '#!/bin/sh\nprintf "Content-Type: text/plain\\n\\nok\\n"\n' >"$CGI/ok.sh"
chmod 755 "$CGI/ok.sh"

free_port PORT || bail_out "no free port"
write_pool_conf \
    "$(cgi_pool_block c "127.0.0.1:$PORT" "$CGI" 'processes = 1' \
    'threads = 1' 'cgi_timeout = 5')"
start_pooled || bail_out "pooled did not start"
NGINX_EXTRA="root $T;
fastcgi_param SCRIPT_FILENAME \$document_root\$fastcgi_script_name;" \
    start_nginx "/cgi/=127.0.0.1:$PORT" || bail_out "nginx did not start"
wait_for 10 workers_running 1 c || bail_out "no worker"

# --- out of its process group ------------------------------------------

http_get /cgi/pgid.py
p=$(cat "$W/pgid.pid" 2>/dev/null)
assert_true "the program wrote its pid" test -n "$p"
assert_true "a program that left its group is killed at cgi_timeout" \
    wait_for 10 pid_dead "$p"
http_get /cgi/ok.sh
assert_status "... and its thread serves the next request" 200

done_testing
