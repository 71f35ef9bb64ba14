/* The clocks of pooled: monotonic for every deadline, wall for display. */
#include "config.h"

#include <time.h>

#include "pooled.h"

/* Clock id's time in units of 1/per_sec s (1000: ms, 1000000: us). */
static int64_t
clock_in(clockid_t id, int64_t per_sec)
{
	struct timespec	 ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * per_sec + ts.tv_nsec / (1000000000 /
	    per_sec);
}

/* Milliseconds on CLOCK_MONOTONIC. */
int64_t
clock_ms(void)
{
	return clock_in(CLOCK_MONOTONIC, 1000);
}

/* The wall clock in milliseconds since the epoch, for what people read. */
int64_t
clock_wall_ms(void)
{
	return clock_in(CLOCK_REALTIME, 1000);
}

/* Microseconds on CLOCK_MONOTONIC, for durations. */
int64_t
clock_us(void)
{
	return clock_in(CLOCK_MONOTONIC, 1000000);
}

/* The wall clock in microseconds since the epoch. */
int64_t
clock_wall_us(void)
{
	return clock_in(CLOCK_REALTIME, 1000000);
}
