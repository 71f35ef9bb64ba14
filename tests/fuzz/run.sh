#!/usr/bin/env bash
# tests/fuzz/run.sh BUILDDIR: run the libFuzzer targets built in BUILDDIR
# (configure CC=clang --enable-fuzzing; make tests/fuzz/fuzz_scgi
# tests/fuzz/fuzz_fcgi) for FUZZ_SECONDS each (default 45, so two targets
# add 90 s to a check), starting from a copy of the seeds in
# tests/fuzz/corpus/NAME, so the committed corpus never changes.  Prints
# TAP: one "ok" or "not ok" line per target with its execution count.
# Exits 1 when a target is missing or the fuzzer found a crash, a leak, a
# timeout or undefined behaviour; then its temporary directory, with the
# input that failed (crash-*, leak-*, timeout-*) and the fuzzer's log, is
# kept and named.
set -u

if [ $# -ne 1 ]; then
	echo "usage: $0 BUILDDIR" >&2
	exit 2
fi
BUILDDIR=$(cd "$1" && pwd) || exit 2
SRCDIR=$(cd "$(dirname "$0")" && pwd)
FUZZ_SECONDS=${FUZZ_SECONDS:-45}
TARGETS=(scgi fcgi)

# Undefined behaviour is a finding, not a warning.
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1

failed=0

# run_target N NAME: fuzz BUILDDIR/tests/fuzz/fuzz_NAME, TAP test number N.
run_target()
{
	local n=$1 name=$2 bin tmp rc runs

	bin=$BUILDDIR/tests/fuzz/fuzz_$name
	if [ ! -x "$bin" ]; then
		echo "not ok $n - fuzz_$name: $bin not built" \
		    "(configure CC=clang --enable-fuzzing)"
		return 1
	fi
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/pooled-fuzz-$name.XXXXXX") || return 1
	cp -R "$SRCDIR/corpus/$name" "$tmp/corpus"
	mkdir "$tmp/artifacts"
	(cd "$tmp" && "$bin" -max_total_time="$FUZZ_SECONDS" \
	    -max_len=70000 -timeout=10 -print_final_stats=1 \
	    -artifact_prefix="$tmp/artifacts/" corpus >"$tmp/log" 2>&1)
	rc=$?
	runs=$(sed -n 's/^Done \([0-9]*\) runs in.*/\1/p' "$tmp/log" | tail -n 1)
	if [ $rc -eq 0 ] && [ -n "$runs" ] &&
	    [ -z "$(ls -A "$tmp/artifacts")" ]; then
		echo "ok $n - fuzz_$name: $runs executions in" \
		    "${FUZZ_SECONDS}s, no crash"
		rm -rf "$tmp"
		return 0
	fi
	echo "not ok $n - fuzz_$name: exit $rc, inputs and log kept in $tmp"
	tail -n 40 "$tmp/log" | sed 's/^/# /'
	return 1
}

echo "1..${#TARGETS[@]}"
i=0
for t in "${TARGETS[@]}"; do
	i=$((i + 1))
	run_target "$i" "$t" || failed=1
done
exit $failed
