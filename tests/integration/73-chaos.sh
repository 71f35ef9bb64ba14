#!/usr/bin/env bash
# 73-chaos: workers killed at random under load lose only what they had in
# hand.  Through nginx, 8 client streams run 30 ms requests for 15 s
# while a worker of the pool, picked at random among the pids pooled's
# status gives, gets SIGKILL every 300 ms.  Every failed request must have
# been in flight on a killed worker: the handler (whoami) logs each
# request with its worker's pid as it starts, so a failed request is
# matched to a kill of that pid within its start and end; one that never
# reached the handler must at least overlap a kill.  No kill may cost
# more started requests than a worker has threads (one accepted but not
# started may be lost with its worker too), and afterwards the pool is
# whole: its workers all running, in the status and answering.
. "$(dirname "$0")/lib.sh"

PROCS=4
THREADS=2
STREAMS=8
MS=30
SECS=15
INTERVAL=0.3

POOLED_CONF_GLOBALS="status_listen = \"$T/status.sock\""
write_pool_conf "$(pool_block c "$T/c.sock" whoami "processes = $PROCS" \
    "threads = $THREADS")"
start_pooled || bail_out "pooled did not start"
start_nginx "unix:$T/c.sock" || bail_out "nginx did not start"
assert_log "the pool started" "all pools started \($PROCS workers\)" 10
http_get "/?id=warm"
assert_status "it answers" 200
assert_contains "... with its pid" "$HTTP_BODY" " id warm"

# killer OUT: every $INTERVAL s for $SECS s, SIGKILL one worker of pool c,
# chosen at random among those pooled -s lists that have served a request
# (so were ready: a worker killed before it is ready is restarted with
# back-off, pooled(8)) and are live children of the master named
# "pooled:c"; never any other pid.  OUT gets "TIME PID ACTIVE" per kill
# (ACTIVE: its busy threads in the status just before) and "TIME - skip"
# when no worker was eligible.
killer()
{
	python3 - "$POOLED" "$POOLED_CONF" "$POOLED_PID" "$INTERVAL" \
	    "$SECS" "$1" <<'PY'
import json, os, random, signal, subprocess, sys, time

pooled, conf, master, interval, secs, out = sys.argv[1:7]
master, interval, secs = int(master), float(interval), float(secs)

def worker_of_master(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
        with open("/proc/%d/comm" % pid) as f:
            comm = f.read().strip()
    except OSError:
        return False
    fields = stat[stat.rindex(")") + 2:].split()
    return fields[0] != "Z" and int(fields[1]) == master and \
        comm == "pooled:c"

lines = []
begin = time.time()
tick = begin
while time.time() - begin < secs:
    try:
        st = json.loads(subprocess.run(
            [pooled, "-s", "-c", conf, "c", "json"], capture_output=True,
            timeout=2).stdout)
        procs = [p for p in st["processes"] if p["pid"] > 0 and
                 p["pid"] != master and p["requests"] > 0 and
                 worker_of_master(p["pid"])]
    except (subprocess.TimeoutExpired, ValueError, KeyError):
        procs = []
    if procs:
        victim = random.choice(procs)
        t = time.time()
        os.kill(victim["pid"], signal.SIGKILL)
        lines.append("%.6f %d %d" % (t, victim["pid"],
                                     victim["active_threads"]))
    else:
        lines.append("%.6f - skip" % time.time())
    tick += interval
    time.sleep(max(0.0, tick - time.time()))
with open(out, "w") as f:
    f.write("\n".join(lines) + "\n")
PY
}

# judge LOAD KILLS LOG: match every failed request of LOAD (http_load.py's
# lines) to a kill; print diag lines, the failures matched to none, and
# last a line "requests kills skipped failures by_pid by_overlap
# unmatched max_per_kill".
judge()
{
	python3 - "$1" "$2" "$3" <<'PY'
import re, sys

load, kills_file, log = sys.argv[1:4]
reqs = [l.split() for l in open(load) if l.strip()]
kills, skipped = [], 0
for l in open(kills_file):
    w = l.split()
    if len(w) == 3 and w[1] == "-":
        skipped += 1
    elif len(w) == 3:
        kills.append((float(w[0]), w[1]))
ran_on = {}
pat = re.compile(r"\[(\d+)\]: .*whoami: start id=(\d+)")
for l in open(log, errors="replace"):
    m = pat.search(l)
    if m:
        ran_on[m.group(2)] = m.group(1)
failures = [r for r in reqs if r[1] != "200"]
by_pid = by_overlap = 0
unmatched = []
per_kill = {}
for rid, status, start, end, _ in failures:
    start, end = float(start), float(end)
    pid = ran_on.get(rid)
    hits = [k for k in kills if start <= k[0] <= end and
            (pid is None or k[1] == pid)]
    if not hits:
        unmatched.append("request %s: %s, %.3f..%.3f, ran on %s" %
                         (rid, status, start, end, pid or "(not logged)"))
        continue
    if pid is None:
        # Accepted by some worker but not started: which one is not
        # known, so it counts towards no kill's cost.
        by_overlap += 1
        continue
    by_pid += 1
    # The kill it was in flight at: the last one before its end.
    k = max(hits)
    per_kill[k] = per_kill.get(k, 0) + 1
for u in unmatched[:10]:
    print("unmatched " + u)
print("%d %d %d %d %d %d %d %d" % (len(reqs), len(kills), skipped,
      len(failures), by_pid, by_overlap, len(unmatched),
      max(per_kill.values()) if per_kill else 0))
PY
}

log_mark
HTTP_TIMEOUT=10 python3 "$LIB_DIR/http_load.py" \
    "$NGINX_URL/?ms=$MS&id=@ID@" "$T/load.out" "$STREAMS" 100000 "$SECS" &
load_pid=$!
track_pid "$load_pid"
killer "$T/kills.out" &
killer_pid=$!
track_pid "$killer_pid"
reap_pid "$killer_pid" $((SECS + 15)) || fail "the killer ends"
reap_pid "$load_pid" 30 || fail "the load ends"

judge "$T/load.out" "$T/kills.out" "$POOLED_LOG" >"$T/judge.out"
read -r requests kills skipped failures by_pid by_overlap unmatched \
    max_per_kill < <(tail -n 1 "$T/judge.out")
diag "chaos: $requests requests, $kills kills ($skipped ticks with no" \
    "worker to kill), $failures failed"
diag "chaos: failures matched to a kill of the worker they ran on:" \
    "$by_pid; that never reached the handler but overlap a kill:" \
    "$by_overlap; most failures for one kill: $max_per_kill"
assert_true "chaos: the load ran" test "${requests:-0}" -gt $((STREAMS * 10))
assert_true "chaos: workers were killed" test "${kills:-0}" -ge 10
assert_eq "chaos: every failed request was in flight on a killed worker" \
    0 "${unmatched:-x}" || diag "$(head -n -1 "$T/judge.out")"
assert_true "chaos: no kill cost more started requests than a worker's threads" \
    test "${max_per_kill:-99}" -le "$THREADS"
assert_no_log "chaos: no crash loop" "crash loop"

# whole: pool c runs $PROCS live workers and the status lists exactly
# those; for wait_for.
whole()
{
	local live listed

	live=$(pool_workers c)
	[ "$(count_lines "$live")" -eq "$PROCS" ] || return 1
	listed=$("$POOLED" -s -c "$POOLED_CONF" c json 2>/dev/null |
	    python3 -c 'import json, sys
s = json.load(sys.stdin)
print(" ".join(sorted(str(p["pid"]) for p in s["processes"])))' \
	    2>/dev/null)
	[ "$listed" = "$(printf '%s\n' "$live" | sort | xargs)" ]
}

if wait_for 15 whole; then
	pass "after: the pool is whole ($PROCS workers, all in pooled -s)"
else
	fail "after: the pool is whole ($PROCS workers, all in pooled -s)" \
	    "running: $(pool_workers c | xargs)" \
	    "$("$POOLED" -s -c "$POOLED_CONF" c 2>&1 | tail -n 12)"
fi

# Every worker answers: bursts of 4 x the pool's threads of 200 ms until
# each has answered one (at most 5 bursts), and each answer is 200.
answered=" "
ok=0 sent=0
for i in 1 2 3 4 5; do
	HTTP_TIMEOUT=10 python3 "$LIB_DIR/http_load.py" \
	    "$NGINX_URL/?ms=200&id=@ID@" "$T/after$i.out" \
	    $((4 * PROCS * THREADS)) $((4 * PROCS * THREADS))
	sent=$((sent + 4 * PROCS * THREADS))
	ok=$((ok + $(awk '$2 == 200 { n++ } END { print n + 0 }' \
	    "$T/after$i.out")))
	for pid in $(awk '$2 == 200 { print $5 }' "$T/after$i.out" | sort -u)
	do
		answered="$answered$pid "
	done
	missing=
	for pid in $(pool_workers c); do
		case $answered in
		*" $pid "*) ;;
		*) missing="$missing $pid" ;;
		esac
	done
	[ -z "$missing" ] && break
done
assert_eq "after: every request answers 200" "$sent" "$ok"
assert_eq "after: every worker answered" "" "$missing"
diag "chaos: pool restarts counted by the master: $("$POOLED" -s \
    -c "$POOLED_CONF" c json 2>/dev/null | python3 -c \
    'import json, sys; print(json.load(sys.stdin)["restarts"])' 2>/dev/null)"
done_testing
