#!/usr/bin/env python3
"""http_load.py: a counted HTTP client for the supervision scenarios.

    http_load.py URL OUT STREAMS COUNT [DURATION]

STREAMS threads send GET URL, one request a connection, "@ID@" in URL
replaced by the request's number (1, 2, ...), until COUNT requests were
started or, when DURATION (seconds) is given and not 0, that much time
has passed, whichever comes first.  With COUNT equal to STREAMS and no
DURATION this is a burst: every request starts at once.

Each request is bounded by $HTTP_TIMEOUT (10) seconds.  Once each stream
has sent its first request, OUT.sent is created.  At the end OUT gets one
line a request, in the order of their ids:

    ID STATUS START END PID

START and END are the wall-clock times (seconds since the epoch, as
bash's $EPOCHREALTIME) when the request was started and when its answer
or failure came; STATUS is the HTTP status, 000 without one; PID is the
worker that answered (a body "pid N ...", from the whoami test handler),
or "-".
"""
import http.client
import os
import sys
import threading
import time
import urllib.parse


def main():
    url, out = sys.argv[1], sys.argv[2]
    streams, count = int(sys.argv[3]), int(sys.argv[4])
    duration = float(sys.argv[5]) if len(sys.argv) > 5 else 0.0
    timeout = float(os.environ.get("HTTP_TIMEOUT", "10"))
    u = urllib.parse.urlsplit(url.replace("@ID@", "0"))
    host, port = u.hostname, u.port or 80
    lock = threading.Lock()
    state = {"next": 0, "sent": 0}
    results = []
    begin = time.time()

    def take():
        with lock:
            if state["next"] >= count:
                return None
            if duration > 0 and time.time() - begin >= duration:
                return None
            state["next"] += 1
            return state["next"]

    def sent_one(first):
        if not first:
            return
        with lock:
            state["sent"] += 1
            if state["sent"] == streams:
                open(out + ".sent", "w").close()

    def one(rid, first):
        target = urllib.parse.urlsplit(url.replace("@ID@", str(rid)))
        path = target.path + ("?" + target.query if target.query else "")
        status, pid = "000", "-"
        start = time.time()
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
        try:
            conn.request("GET", path)
            sent_one(first)
            first = False
            resp = conn.getresponse()
            body = resp.read()
            status = "%03d" % resp.status
            words = body.split()
            if len(words) >= 2 and words[0] == b"pid":
                pid = words[1].decode("ascii", "replace")
        except (OSError, http.client.HTTPException):
            pass
        finally:
            conn.close()
            sent_one(first)
        end = time.time()
        with lock:
            results.append((rid, status, start, end, pid))

    def stream():
        first = True
        while True:
            rid = take()
            if rid is None:
                break
            one(rid, first)
            first = False

    threads = [threading.Thread(target=stream) for _ in range(streams)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with open(out + ".tmp", "w") as f:
        for rid, status, start, end, pid in sorted(results):
            f.write("%d %s %.6f %.6f %s\n" % (rid, status, start, end, pid))
    os.rename(out + ".tmp", out)


if __name__ == "__main__":
    main()
