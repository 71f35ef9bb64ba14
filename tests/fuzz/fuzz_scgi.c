/*
 * libFuzzer target for scgi_parse.c.  The input is the bytes a peer sent
 * on an SCGI connection; each is parsed under three pairs of limits: the
 * defaults, small ones that the fuzzer reaches easily, and none at all
 * (for the overflow checks).  Beyond what the sanitizers catch, the
 * results must agree with the netstring: a READY header lies within the
 * input and ends in ',', its block turns into one NAME=VALUE string per
 * header, CONTENT_LENGTH first; and no prefix of an input that is not
 * refused is refused or complete already, so a peer that sends the same
 * bytes in pieces gets the same answer.  A violation aborts.
 */
#include "config.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pooled.h"

#define CHECK(e) do {							\
	if (!(e)) {							\
		fprintf(stderr, "fuzz_scgi: %s:%d: %s\n", __FILE__,	\
		    __LINE__, #e);					\
		abort();						\
	}								\
} while (0)

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const struct {
	size_t		 header_max;
	unsigned int	 max_headers;
} limits[] = {
	{ SCGI_HEADER_MAX, SCGI_MAX_HEADERS },
	{ 64, 4 },
	{ SIZE_MAX, UINT_MAX },
};

/* The netstring length buf[0..n): digits, no leading zero. */
static size_t
decimal(const char *buf, size_t n)
{
	size_t	 i, v = 0;

	CHECK(n > 0 && buf[0] != '0');
	for (i = 0; i < n; i++) {
		CHECK(buf[i] >= '0' && buf[i] <= '9');
		v = v * 10 + (size_t)(buf[i] - '0');
	}
	return v;
}

/* The block of a READY header, turned into strings. */
static void
check_envp(const char *buf, const struct scgi_head *h)
{
	char		*block, **envp;
	unsigned int	 i;

	CHECK(h->block_len > 0);
	block = malloc(h->block_len);
	envp = calloc((size_t)h->nheaders + 1, sizeof(*envp));
	CHECK(block != NULL && envp != NULL);
	memcpy(block, buf + h->block_off, h->block_len);
	scgi_envp_fill(block, h->block_len, envp);
	for (i = 0; envp[i] != NULL; i++) {
		CHECK(i < h->nheaders);
		CHECK(envp[i] >= block && envp[i] < block + h->block_len);
		CHECK(strchr(envp[i], '=') != NULL);
		CHECK(envp[i][0] != '=');
	}
	CHECK(i == h->nheaders);
	CHECK(strncmp(envp[0], "CONTENT_LENGTH=", 15) == 0);
	CHECK(strtoull(envp[0] + 15, NULL, 10) == h->content_length);
	free(envp);
	free(block);
}

/* No prefix of buf[0..len) may be refused or complete. */
static void
check_prefixes(const char *buf, size_t len, size_t header_max,
    unsigned int max_headers)
{
	struct scgi_head	 h;
	const char		*why;
	size_t			 k[5];
	unsigned int		 i;

	k[0] = 0;
	k[1] = len / 2;
	k[2] = len > 0 ? len - 1 : 0;
	k[3] = len > 1 ? len - 2 : 0;
	k[4] = len / 3;
	for (i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		if (k[i] >= len && len > 0)
			continue;
		CHECK(scgi_head_parse(buf, k[i], header_max, max_headers, &h,
		    &why) == CONN_PARTIAL);
	}
}

static void
check_one(const char *buf, size_t len, size_t header_max,
    unsigned int max_headers)
{
	struct scgi_head	 h, again;
	enum conn_readiness	 r;
	const char		*why = NULL;

	r = scgi_head_parse(buf, len, header_max, max_headers, &h, &why);
	switch (r) {
	case CONN_INVALID:
		CHECK(why != NULL && why[0] != '\0');
		break;
	case CONN_PARTIAL:
		check_prefixes(buf, len, header_max, max_headers);
		break;
	case CONN_READY:
		CHECK(h.total <= len);
		CHECK(h.block_off >= 2 && h.block_off < h.total);
		CHECK(buf[h.block_off - 1] == ':');
		CHECK(decimal(buf, h.block_off - 1) == h.block_len);
		CHECK(h.block_off + h.block_len + 1 == h.total);
		CHECK(buf[h.total - 1] == ',');
		CHECK(h.block_len <= header_max);
		CHECK(h.nheaders >= 2 && h.nheaders <= max_headers);
		CHECK(h.content_length <= INT64_MAX);
		check_envp(buf, &h);
		/* The bytes after the ',' (the body) do not matter. */
		CHECK(scgi_head_parse(buf, h.total, header_max, max_headers,
		    &again, &why) == CONN_READY);
		CHECK(again.total == h.total &&
		    again.block_off == h.block_off &&
		    again.block_len == h.block_len &&
		    again.nheaders == h.nheaders &&
		    again.content_length == h.content_length);
		check_prefixes(buf, h.total, header_max, max_headers);
		break;
	default:
		CHECK(!"scgi_head_parse: not PARTIAL, READY or INVALID");
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned int	 i;

	for (i = 0; i < sizeof(limits) / sizeof(limits[0]); i++)
		check_one((const char *)data, size, limits[i].header_max,
		    limits[i].max_headers);
	return 0;
}
