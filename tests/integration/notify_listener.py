"""notify_listener.py ADDRESS OUT: stand in for systemd's notify socket.

Binds a unix datagram socket at ADDRESS (a path, or "@name" for the
abstract namespace, as $NOTIFY_SOCKET writes it) and appends each
datagram to OUT followed by a line "--".  Exits after 120 s without a
message, so a forgotten listener does not outlive its scenario.
"""
import socket
import sys

addr, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + addr[1:] if addr.startswith("@") else addr)
s.settimeout(120)
with open(out, "a", encoding="utf-8") as f:
    f.write("")
    f.flush()
    while True:
        try:
            data = s.recv(4096)
        except socket.timeout:
            sys.exit(0)
        f.write(data.decode("utf-8", "replace") + "\n--\n")
        f.flush()
