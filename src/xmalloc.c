/*
 * Allocators that die on failure, for startup and config code only: the
 * request path uses checked malloc and fails the request instead.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "pooled.h"

/* malloc that exits on failure. */
void *
xmalloc(size_t size)
{
	void	*p;

	if ((p = malloc(size == 0 ? 1 : size)) == NULL)
		fatal("xmalloc: %zu bytes", size);
	return p;
}

/* calloc that exits on failure. */
void *
xcalloc(size_t nmemb, size_t size)
{
	void	*p;

	if ((p = calloc(nmemb == 0 ? 1 : nmemb, size == 0 ? 1 : size)) == NULL)
		fatal("xcalloc: %zu * %zu bytes", nmemb, size);
	return p;
}

/* strdup that exits on failure. */
char *
xstrdup(const char *s)
{
	char	*p;

	if ((p = strdup(s)) == NULL)
		fatal("xstrdup");
	return p;
}

/* reallocarray that exits on failure. */
void *
xreallocarray(void *ptr, size_t nmemb, size_t size)
{
	void	*p;

	if ((p = reallocarray(ptr, nmemb == 0 ? 1 : nmemb,
	    size == 0 ? 1 : size)) == NULL)
		fatal("xreallocarray: %zu * %zu bytes", nmemb, size);
	return p;
}
