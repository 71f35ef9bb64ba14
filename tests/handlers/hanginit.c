/*
 * hanginit: a test handler whose process_init never returns, standing for
 * a module stuck at start (a database that does not answer).  pooled must
 * give up after start_timeout instead of waiting forever.
 *
 * With module option hang_if=PATH it hangs only while PATH exists, and
 * starts when it is removed: so a test can let the first start succeed and
 * a later one (a respawn, a reload) hang for as long as it likes.
 */
#include <poll.h>
#include <unistd.h>

#include <pooled.h>

static int
hanginit_process_init(void)
{
	const char	*path = pooled_option("hang_if");

	if (path != NULL && access(path, F_OK) != 0)
		return 0;
	pooled_log(POOLED_LOG_NOTICE, "hanginit: hanging in process_init");
	if (path == NULL)
		for (;;)
			pause();
	while (access(path, F_OK) == 0)
		(void)poll(NULL, 0, 100);
	pooled_log(POOLED_LOG_NOTICE, "hanginit: %s is gone; starting", path);
	return 0;
}

static int
hanginit_handle(struct pooled_req *req)
{
	return pooled_req_printf(req, "Status: 200 OK\r\n"
	    "Content-Type: text/plain\r\n\r\nhanginit\n");
}

const struct pooled_handler pooled_handler_v1 = {
	.abi_version = POOLED_ABI_VERSION,
	.process_init = hanginit_process_init,
	.handle = hanginit_handle,
};
