#!/usr/bin/env bash
# 54-cgi-env-allowlist: a client that talks to a CGI pool's socket
# directly chooses every param, FastCGI or SCGI alike.  Only the CGI
# variables, the request headers, what web servers commonly add and the
# pool's cgi_pass_params reach the program; LD_PRELOAD, BASH_ENV, PHPRC and
# the other names that make programs load code never do, and
# cgi_pass_params cannot let them in (-t names the file and line).
. "$(dirname "$0")/lib.sh"

CGI=$T/cgi
mkdir -p "$CGI"
printf '#!/bin/sh\nprintf "Content-Type: text/plain\\n\\n"; env\n' \
    >"$CGI/env.sh"
printf '#!/bin/bash\nprintf "Content-Type: text/plain\\n\\nbash ran\\n"\n' \
    >"$CGI/bash.sh"
printf '#!/bin/sh\nprintf "Content-Type: text/plain\\n\\n%%s:" "$CONTENT_LENGTH"; cat\n' \
    >"$CGI/cat.sh"
chmod 755 "$CGI/env.sh" "$CGI/bash.sh" "$CGI/cat.sh"

PASS='cgi_pass_params = {"MYAPP_TOKEN", "TENANT_*"}'
POOLED_LOG_LEVEL=debug
write_pool_conf \
    "$(cgi_pool_block fcgi "$T/fcgi.sock" "$CGI" "$PASS" \
    'env = {"PATH=/usr/bin:/bin", "POOL_SET=yes"}')" \
    "$(cgi_pool_block scgi "$T/scgi.sock" "$CGI" "$PASS" \
    'protocol = "scgi"' 'env = {"PATH=/usr/bin:/bin", "POOL_SET=yes"}')"
start_pooled || bail_out "pooled did not start"

# raw PROTO SOCKET SCRIPT NAME=VALUE...: one request straight to the
# socket, with exactly these params besides REQUEST_METHOD and
# SCRIPT_FILENAME (and, by FastCGI, RAW_BODY as the body); prints the
# program's output (its stdout, unframed).
raw()
{
	PYTHONPATH=$LIB_DIR timeout -k 2 25 python3 - "$@" <<'PY'
import os, socket, sys
from fcgi_records import STDIN, opening, pair, record, stdout_of

proto, path, script = sys.argv[1:4]
params = [(b"REQUEST_METHOD", b"GET"), (b"SCRIPT_FILENAME", script.encode())]
for kv in sys.argv[4:]:
    k, v = kv.split("=", 1)
    params.append((k.encode(), v.encode()))
s = socket.socket(socket.AF_UNIX)
s.settimeout(15)
s.connect(path)
if proto == "fcgi":
    body = os.environ.get("RAW_BODY", "").encode()
    s.sendall(opening(b"".join(pair(k, v) for k, v in params)) +
              (record(STDIN, body) if body else b"") + record(STDIN, b""))
else:
    hdr = b"CONTENT_LENGTH\0" + b"0\0" + b"SCGI\0" + b"1\0" + \
        b"".join(k + b"\0" + v + b"\0" for k, v in params)
    s.sendall(str(len(hdr)).encode() + b":" + hdr + b",")
out = b""
try:
    while True:
        d = s.recv(65536)
        if not d:
            break
        out += d
except (socket.timeout, ConnectionResetError):
    pass
if proto == "fcgi":
    out = stdout_of(out)
sys.stdout.write(out.decode(errors="replace"))
PY
}

EVIL=(
	"LD_PRELOAD=$T/nonexistent/evil.so"
	"BASH_ENV=\$(touch $W/bash-env-ran)"
	"PHPRC=/dev/fd/0"
	"PYTHONPATH=$T/evil"
	"PERL5OPT=-Mevil"
	"NODE_OPTIONS=--require=$T/evil.js"
	"GCONV_PATH=$T/evil"
	"X_EVIL=1"
	"ld_preload=lower"
	"SSL_CERT_FILE=$T/evil.pem"
	"HTTP_PROXY=http://evil.example/"
)
GOOD=(
	"HTTP_X_OK=header"
	"REMOTE_ADDR=192.0.2.7"
	"SERVER_NAME=example.org"
	"REQUEST_URI=/env.sh?x=1"
	"HTTPS=on"
	"SSL_PROTOCOL=TLSv1.3"
	"MYAPP_TOKEN=configured"
	"TENANT_ID=7"
)

for proto in fcgi scgi; do
	log_mark
	out=$(raw "$proto" "$T/$proto.sock" "$CGI/env.sh" "${EVIL[@]}" \
	    "${GOOD[@]}")
	assert_contains "$proto: the program ran" "$out" "GATEWAY_INTERFACE="
	for kv in "${EVIL[@]}"; do
		name=${kv%%=*}
		assert_true "$proto: no $name" \
		    bash -c '! grep -q "^$1=" <<<"$2"' _ "$name" "$out"
	done
	for kv in "${GOOD[@]}"; do
		assert_line "$proto: ${kv%%=*} passes" "$out" "$kv"
	done
	assert_line "$proto: the pool's env" "$out" "POOL_SET=yes"
	assert_line "$proto: the pool's PATH" "$out" "PATH=/usr/bin:/bin"
	assert_true "$proto: the dropped params are named at debug level" \
	    bash -c 'grep "debug" <<<"$1" | grep "not passed to the program" |
	    grep -q "LD_PRELOAD BASH_ENV PHPRC"' _ "$(log_since_mark)"

	# A #!/bin/bash program sources $BASH_ENV after expanding it.
	out=$(raw "$proto" "$T/$proto.sock" "$CGI/bash.sh" \
	    "BASH_ENV=\$(touch $W/bash-env-$proto)" "HTTP_X=1")
	assert_contains "$proto: the bash program ran" "$out" "bash ran"
	assert_true "$proto: BASH_ENV ran nothing" \
	    test ! -e "$W/bash-env-$proto"
done
assert_true "no BASH_ENV command ran at all" test ! -e "$W/bash-env-ran"

# A param sent twice: pooled reads the body by the length the program is
# told, the last one, as the environment has it.
out=$(RAW_BODY=hello raw fcgi "$T/fcgi.sock" "$CGI/cat.sh" \
    "CONTENT_LENGTH=0" "CONTENT_LENGTH=5")
assert_eq "CONTENT_LENGTH twice: the program gets the body it is told of" \
    "5:hello" "${out##*$'\n'}"

# cgi_pass_params cannot add what makes programs load code.
# check_refused VALUE WHAT
check_refused()
{
	{
		printf 'pool bad {\n\tlisten = "%s"\n' "$T/bad.sock"
		printf '\thandler = "cgi"\n\tcgi_root = {"%s"}\n' "$CGI"
		printf '\tcgi_pass_params = {"MYAPP_TOKEN",\n'
		printf '\t    %s}\n}\n' "$1"
	} >"$T/bad.conf"
	run_pooled -t -c "$T/bad.conf"
	assert_eq "cgi_pass_params $1: -t exits 1" 1 "$RUN_STATUS"
	assert_contains "cgi_pass_params $1: -t names file and line" \
	    "$RUN_STDERR" "$T/bad.conf:6: pool \"bad\": cgi_pass_params $1: $2"
}
check_refused '"LD_PRELOAD"' "matches LD_*"
check_refused '"BASH_ENV"' "matches BASH*"
check_refused '"PHPRC"' "matches PHP*"
check_refused '"L*"' "covers LD_*"
check_refused '"HTTP_*"' "covers HTTP_PROXY"
check_refused '"*"' "not a name"

done_testing
