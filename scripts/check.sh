#!/usr/bin/env bash
# scripts/check.sh: install what is missing, then run the whole suite
# (unit tests, then the integration scenarios against a real nginx) in
# three builds, all with -Werror: plain in build/, under AddressSanitizer
# and UndefinedBehaviorSanitizer in build-asan/, under ThreadSanitizer in
# build-tsan/; then a 60 s libFuzzer run of the SCGI parser (clang, in
# build-fuzz/); then "make distcheck" (the release tarball builds, passes
# its tests, installs and uninstalls cleanly); then, where dpkg-dev and
# debootstrap are installed, the Debian packages in a fresh root
# (scripts/test-deb.sh).  Ends with one line
# "N passed, M failed": every assertion of every build, counted from the
# automake .trs files, plus distcheck as one.  Exits non-zero on a build
# error or any failure.  CHECK_QUICK=yes runs the plain build only.
# .ci/run calls only this.
set -euo pipefail

cd "$(dirname "$0")/.."
. scripts/deps.sh

CHECK_QUICK=${CHECK_QUICK:-no}

passed=0
failed=0
skipped=0
failures=()

# count_results DIR: add the results of DIR's .trs files to the totals.
# PASS counts as passed; FAIL, ERROR and XPASS as failed; SKIP and XFAIL
# as skipped.  Each failed assertion is kept in failures, printed again
# at the very end: CI shows only the tail of a long run.
count_results()
{
	local trs result

	while read -r trs; do
		while read -r result; do
			case $result in
			PASS)
				passed=$((passed + 1)) ;;
			FAIL|ERROR|XPASS)
				failed=$((failed + 1))
				failures+=("${trs%.trs}: $result $(failed_lines "$trs")") ;;
			*)
				skipped=$((skipped + 1)) ;;
			esac
		done < <(sed -n 's/^:test-result:[[:space:]]*//p' "$trs")
	done < <(find "$1" -name '*.trs' | sort)
}

# failed_lines TRS: the "not ok" lines of the test log beside TRS, on one
# line, so the summary names which assertion failed.
failed_lines()
{
	local log=${1%.trs}.log

	[ -f "$log" ] || return 0
	grep -E '^(not ok|Bail out)' "$log" | head -n 3 | tr '\n' ' ' || true
}

# run_suite DIR [CONFIGURE_ARG...]: build in DIR and run make check there.
run_suite()
{
	local dir=$1 before

	shift
	# Results of an earlier run must not be counted again.
	if [ -d "$dir" ]; then
		find "$dir" -name '*.trs' -delete
	fi
	if ! POOLED_BUILD_DIR=$dir build_pooled "$@"; then
		echo "check: build failed in $dir" >&2
		failures+=("build failed in $dir")
		failed=$((failed + 1))
		return 0
	fi
	if make -C "$dir" check; then
		count_results "$dir"
		return 0
	fi
	echo "check: make check failed in $dir" >&2
	if [ -f "$dir/test-suite.log" ]; then
		echo "===== $dir/test-suite.log"
		cat "$dir/test-suite.log"
	fi
	before=$failed
	count_results "$dir"
	# Failed without a failed test: a check program did not build.
	if [ "$failed" -eq "$before" ]; then
		failed=$((failed + 1))
	fi
}

deps_install "${POOLED_DEPS[@]}" "${POOLED_CHECK_DEPS[@]}"

# run_distcheck DIR: make distcheck from the configured build in DIR;
# counts as one result.  One job per core: its test run repeats what the
# builds above passed, and serially it took 6 of the suite's 16 minutes.
run_distcheck()
{
	if make -C "$1" -j"$(nproc)" --no-print-directory distcheck \
	    DISTCHECK_CONFIGURE_FLAGS=--enable-werror; then
		echo "check: distcheck passed"
		passed=$((passed + 1))
	else
		echo "check: distcheck failed" >&2
		failures+=("distcheck")
		failed=$((failed + 1))
	fi
}

# run_fuzz DIR: build the libFuzzer targets with clang in DIR and fuzz
# each for FUZZ_SECONDS (45); each target counts as one result.
run_fuzz()
{
	local line

	if ! command -v clang >/dev/null 2>&1; then
		echo "check: no clang: fuzzing skipped"
		skipped=$((skipped + 1))
		return 0
	fi
	if ! POOLED_BUILD_DIR=$1 build_pooled CC=clang --enable-fuzzing ||
	    ! make -C "$1" --no-print-directory tests/fuzz/fuzz_scgi \
	    tests/fuzz/fuzz_fcgi; then
		echo "check: fuzz build failed in $1" >&2
		failures+=("fuzz build failed in $1")
		failed=$((failed + 1))
		return 0
	fi
	while read -r line; do
		echo "$line"
		case $line in
		"ok "*)		passed=$((passed + 1)) ;;
		"not ok "*)
			failed=$((failed + 1))
			failures+=("fuzz: $line") ;;
		esac
	done < <(tests/fuzz/run.sh "$1" 2>&1)
}

# run_deb: build the Debian packages and install, upgrade and purge them
# in a fresh root (scripts/test-deb.sh, 1 to 3 minutes); one result.
# Only where dpkg-dev and debootstrap are installed (POOLED_DEB_DEPS) and
# as root: the check installs neither.
run_deb()
{
	local rc=0

	if ! command -v dpkg-buildpackage >/dev/null 2>&1 ||
	    ! command -v debootstrap >/dev/null 2>&1 ||
	    [ "$(id -u)" -ne 0 ]; then
		echo "check: no dpkg-dev, debootstrap or root: package test skipped"
		skipped=$((skipped + 1))
		return 0
	fi
	scripts/test-deb.sh || rc=$?
	if [ "$rc" -eq 0 ]; then
		echo "check: package test passed"
		passed=$((passed + 1))
	elif [ "$rc" -eq 77 ]; then
		skipped=$((skipped + 1))
	else
		echo "check: package test failed" >&2
		failures+=("scripts/test-deb.sh")
		failed=$((failed + 1))
	fi
}

run_suite build --enable-werror
if [ "$CHECK_QUICK" != yes ]; then
	run_suite build-asan --enable-werror --enable-sanitizers
	run_suite build-tsan --enable-werror --enable-sanitizers=thread
	run_fuzz build-fuzz
	run_distcheck build
	run_deb
fi

# A make check that failed without any .trs file (a test program that did
# not link, say) must not read as success.
if [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ]; then
	echo "check: no test ran" >&2
	failed=1
fi
if [ "$skipped" -gt 0 ]; then
	echo "check: $skipped skipped"
fi
for failure in "${failures[@]}"; do
	echo "check: FAIL $failure"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
