/* The monotonic clock every deadline in pooled is measured on. */
#include "config.h"

#include <time.h>

#include "pooled.h"

/* Milliseconds on CLOCK_MONOTONIC. */
int64_t
clock_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
