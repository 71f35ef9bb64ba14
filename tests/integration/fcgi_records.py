"""FastCGI framing for the integration tests' own clients, which send what
nginx never would (trickled, streamed or unfinished bodies): records,
name-value pairs, the opening of a request, and the stdout of an answer.
Run python3 with PYTHONPATH="$LIB_DIR" (lib.sh) to import it."""
import struct

BEGIN_REQUEST, PARAMS, STDIN, STDOUT = 1, 4, 5, 6


def record(rtype, content, request_id=1):
    """One record, unpadded."""
    return struct.pack(">BBHHBB", 1, rtype, request_id, len(content),
                       0, 0) + content


def pair(name, value):
    """One name-value pair; both under 128 bytes."""
    return bytes([len(name), len(value)]) + name + value


def opening(params):
    """FCGI_BEGIN_REQUEST (responder, connection closed after), then the
    params, which are bytes made of pair()s, and their end."""
    return record(BEGIN_REQUEST, struct.pack(">HB5x", 1, 0)) + \
        record(PARAMS, params) + record(PARAMS, b"")


def stdout_of(answer):
    """The FCGI_STDOUT bytes of an answer, its framing stripped."""
    out, off = b"", 0
    while off + 8 <= len(answer):
        rtype = answer[off + 1]
        clen = answer[off + 4] << 8 | answer[off + 5]
        if rtype == STDOUT:
            out += answer[off + 8:off + 8 + clen]
        off += 8 + clen + answer[off + 6]
    return out
