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


ABORT_REQUEST, GET_VALUES, GET_VALUES_RESULT, UNKNOWN_TYPE = 2, 9, 10, 11


def padded(rtype, content, request_id=1, padding=0, send_padding=True):
    """One record announcing padding bytes, sent or (to test a peer that
    withholds them) not."""
    return struct.pack(">BBHHBB", 1, rtype, request_id, len(content),
                       padding, 0) + content + \
        (b"\0" * padding if send_padding else b"")


def opening_keep(params, request_id=1):
    """Like opening(), with FCGI_KEEP_CONN."""
    return record(BEGIN_REQUEST, struct.pack(">HB5x", 1, 1), request_id) + \
        record(PARAMS, params, request_id) + record(PARAMS, b"", request_id)


def records(answer):
    """The whole records in answer: a list of (type, id, content)."""
    out, off = [], 0
    while off + 8 <= len(answer):
        rtype = answer[off + 1]
        rid = answer[off + 2] << 8 | answer[off + 3]
        clen = answer[off + 4] << 8 | answer[off + 5]
        if off + 8 + clen + answer[off + 6] > len(answer):
            break
        out.append((rtype, rid, answer[off + 8:off + 8 + clen]))
        off += 8 + clen + answer[off + 6]
    return out


def pairs(content):
    """The name-value pairs of content (short lengths only): a dict."""
    out, off = {}, 0
    while off + 2 <= len(content):
        nl, vl = content[off], content[off + 1]
        off += 2
        out[content[off:off + nl].decode()] = \
            content[off + nl:off + nl + vl].decode()
        off += nl + vl
    return out


def read_until_end(sock, limit=1 << 20):
    """Read until an FCGI_END_REQUEST record or EOF; the bytes."""
    data = b""
    while len(data) < limit:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
        if any(r[0] == 3 for r in records(data)):
            break
    return data
