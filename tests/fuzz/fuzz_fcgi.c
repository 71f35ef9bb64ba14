/*
 * libFuzzer target for the FastCGI request stream: fcgi_ready.c's header
 * walk and params vector, and fcgi_stream.c's record reader with the
 * management answers.  The input is the bytes a peer sent on a
 * connection.  Its header is judged under two pairs of limits (the
 * defaults and small ones); a READY one must lie within the input, and
 * its params vector must fill exactly the room the walk asked for.  What
 * follows the header is fed to the record reader in pieces of a size the
 * input's first byte chooses, so that every split of a record is tried;
 * the events must agree with a second read in one piece.  A violation
 * aborts.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pooled.h"

#define CHECK(e) do {							\
	if (!(e)) {							\
		fprintf(stderr, "fuzz_fcgi: %s:%d: %s\n", __FILE__,	\
		    __LINE__, #e);					\
		abort();						\
	}								\
} while (0)

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const struct {
	size_t	 size;
	size_t	 count;
} limits[] = {
	{ FCGI_PARAMS_SIZE, FCGI_MAX_PARAMS },
	{ 64, 4 },
};

/* The params vector of a READY header: within its block, NULL-ended. */
static void
check_envp(const uint8_t *buf, const struct fcgi_head *h)
{
	char	*block, **envp, *end;
	size_t	 i;

	CHECK((block = malloc(h->env_size)) != NULL);
	envp = fcgi_envp_build(buf, h, block);
	end = block + h->env_size;
	for (i = 0; i < h->nparams + 1; i++) {
		CHECK(envp[i] != NULL);
		CHECK(envp[i] >= block && envp[i] < end);
		CHECK(strchr(envp[i], '=') != NULL);
		CHECK(envp[i] + strlen(envp[i]) < end);
	}
	CHECK(envp[i] == NULL);
	free(block);
}

/* What a reader reports: its events, in a small digest. */
struct digest {
	uint64_t	 data;		/* body bytes */
	uint64_t	 sum;		/* their sum */
	unsigned int	 eof, mgmt, abort, error;
	uint64_t	 answers;	/* bytes of management answers */
};

static void
read_stream(const uint8_t *buf, size_t len, size_t piece, size_t max,
    struct digest *d)
{
	struct fcgi_stream	 st;
	struct fcgi_event	 ev;
	uint8_t			 out[FCGI_MGMT_ANSWER_MAX];
	size_t			 off = 0, end, used, i, n;

	memset(d, 0, sizeof(*d));
	fcgi_stream_init(&st, 1);
	while (off < len) {
		end = len - off < piece ? len : off + piece;
		while (off < end) {
			used = fcgi_stream_next(&st, buf + off, end - off,
			    max, &ev);
			CHECK(used <= end - off);
			off += used;
			switch (ev.kind) {
			case FCGI_EV_NONE:
				CHECK(off == end);
				break;
			case FCGI_EV_DATA:
				CHECK(ev.len > 0 && ev.len <= max);
				CHECK(ev.data >= buf && ev.data + ev.len <=
				    buf + off);
				d->data += ev.len;
				for (i = 0; i < ev.len; i++)
					d->sum += ev.data[i];
				break;
			case FCGI_EV_EOF:
				d->eof++;
				break;
			case FCGI_EV_MGMT:
				CHECK(ev.len <= FCGI_MGMT_MAX);
				n = fcgi_mgmt_answer(ev.type, ev.data, ev.len,
				    4294967295U, 4294967295U, out);
				CHECK(n >= 8 && n <= sizeof(out) &&
				    n % 8 == 0);
				d->answers += n;
				d->mgmt++;
				break;
			case FCGI_EV_ABORT:
				d->abort++;
				break;
			case FCGI_EV_ERROR:
				CHECK(ev.why != NULL);
				d->error++;
				return;
			}
			if (used == 0 && ev.kind == FCGI_EV_NONE)
				break;
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fcgi_head	 h;
	struct digest		 a, b;
	enum conn_readiness	 r;
	const char		*why;
	size_t			 i, piece, body;

	if (size < 1)
		return 0;
	piece = 1 + data[0] % 16;
	data++;
	size--;
	for (i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		why = NULL;
		r = fcgi_head_parse(data, size, limits[i].size,
		    limits[i].count, &h, &why);
		CHECK(r == CONN_READY || r == CONN_PARTIAL ||
		    r == CONN_INVALID);
		if (r == CONN_INVALID)
			CHECK(why != NULL);
		if (r != CONN_READY)
			continue;
		CHECK(h.len <= size && h.begin_off <= h.len);
		if (!h.request)
			continue;
		CHECK(h.req_id != 0 && h.nparams <= limits[i].count);
		CHECK(h.params_size <= limits[i].size);
		check_envp(data, &h);
	}
	/* The records after a header, or the whole input as a body. */
	r = fcgi_head_parse(data, size, FCGI_PARAMS_SIZE, FCGI_MAX_PARAMS,
	    &h, &why);
	body = r == CONN_READY ? h.len : 0;
	read_stream(data + body, size - body, piece, 1 + piece * 7, &a);
	read_stream(data + body, size - body, size, 65536, &b);
	CHECK(a.data == b.data && a.sum == b.sum && a.eof == b.eof &&
	    a.mgmt == b.mgmt && a.abort == b.abort && a.error == b.error &&
	    a.answers == b.answers);
	CHECK(a.eof <= 1);
	return 0;
}
