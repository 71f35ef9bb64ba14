#!/usr/bin/env bash
# 15-module-build: a module author's path.  `make install` into a DESTDIR
# puts pooled.h and pooled.pc where pkg-config finds them; a module built
# with exactly the documented command line, from the installed header
# only, loads and answers through nginx, and reads its module_options.
. "$(dirname "$0")/lib.sh"

inst=$T/inst
if ! make -s -C "$top_builddir" install DESTDIR="$inst" >"$T/install.log" 2>&1
then
	fail "make install DESTDIR" "$(tail -n 20 "$T/install.log")"
	done_testing
fi
pcdir=$(dirname "$(find "$inst" -name pooled.pc | head -n 1)")
assert_true "pooled.pc installed" test -f "$pcdir/pooled.pc"
hdr=$(find "$inst" -name pooled.h | head -n 1)
assert_true "pooled.h installed" test -f "$hdr"

cat >"$T/mymod.c" <<'MOD'
#include <pooled.h>

static int
my_handle(struct pooled_req *req)
{
	const char	*who = pooled_option("who");

	return pooled_req_printf(req, "Status: 200 OK\r\n"
	    "Content-Type: text/plain\r\n\r\n"
	    "built outside, for %s, %s %s\n", who ? who : "nobody",
	    pooled_req_param(req, "REQUEST_METHOD"),
	    pooled_req_param(req, "QUERY_STRING"));
}

const struct pooled_handler pooled_handler_v1 = {
	.abi_version = POOLED_ABI_VERSION,
	.handle = my_handle,
};
MOD

# pooled.pc names the configured prefix; point it at the DESTDIR copy.
cflags=$(PKG_CONFIG_PATH=$pcdir PKG_CONFIG_SYSROOT_DIR=$inst \
    pkg-config --cflags pooled)
assert_contains "pkg-config names the include dir" "$cflags" "$inst"
if cc -shared -fPIC $cflags -Wall -Wextra -Werror "$T/mymod.c" \
    -o "$T/mymod.so" 2>"$T/cc.log"; then
	pass "module builds with cc -shared -fPIC \$(pkg-config --cflags pooled)"
else
	fail "module builds" "$(cat "$T/cc.log")"
fi

write_pool_conf "$(pool_block mine "$T/mine.sock" "$T/mymod.so" \
    'module_options = {"who=authors"}')"
start_pooled || bail_out "pooled did not start"
start_nginx "unix:$T/mine.sock" || bail_out "nginx did not start"
http_get "/?x=1"
assert_status "module answers" 200
assert_eq "module body" "built outside, for authors, GET x=1" "$HTTP_BODY"
done_testing
