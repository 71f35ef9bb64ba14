/*
 * The module backend: a user's shared object, loaded with dlopen in each
 * worker after the fork (never in the master), checked for its handler
 * symbol and ABI version, and called through a struct backend.
 */
#include "config.h"

#include <dlfcn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "pooled.h"

static const struct pooled_handler	*so_handler;
static const struct pool_conf		*so_pool;
static struct backend			 so_backend;

/*
 * Run the module's handle with its pooled_req_log lines counted against
 * request_log_max, so a module that logs in a loop cannot fill the disk.
 */
static int
so_handle(struct pooled_req *req)
{
	int	 rc;

	req_log_cap(req, so_pool->request_log_max);
	rc = so_handler->handle(req);
	req_log_uncap(req);
	return rc;
}

static int
so_process_init(void)
{
	if (so_handler->process_init == NULL)
		return 0;
	if (so_handler->process_init() != 0) {
		log_warnx("handler_so: %s: process_init failed",
		    so_pool->module);
		return -1;
	}
	return 0;
}

static void
so_process_fini(void)
{
	if (so_handler->process_fini != NULL)
		so_handler->process_fini();
}

/*
 * Load the pool's module and check it.  Returns the backend, or NULL with
 * one log line naming the file and the reason.  Called in a worker, or in
 * the throwaway child of `pooled -t`.
 */
const struct backend *
handler_so_open(const struct pool_conf *pc)
{
	const struct pooled_handler	*h;
	void				*dl;

	if ((dl = dlopen(pc->module, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		log_warnx("handler_so: %s: cannot load: %s", pc->module,
		    dlerror());
		return NULL;
	}
	h = dlsym(dl, POOLED_HANDLER_SYMBOL);
	if (h == NULL) {
		log_warnx("handler_so: %s: no symbol %s: not a pooled module",
		    pc->module, POOLED_HANDLER_SYMBOL);
		dlclose(dl);
		return NULL;
	}
	if (h->abi_version != POOLED_ABI_VERSION) {
		log_warnx("handler_so: %s: built for module ABI version %u, "
		    "this pooled speaks version %d; rebuild the module "
		    "against this pooled.h", pc->module, h->abi_version,
		    POOLED_ABI_VERSION);
		dlclose(dl);
		return NULL;
	}
	if (h->handle == NULL) {
		log_warnx("handler_so: %s: %s has no handle function",
		    pc->module, POOLED_HANDLER_SYMBOL);
		dlclose(dl);
		return NULL;
	}
	so_handler = h;
	so_pool = pc;
	so_backend.name = "module";
	so_backend.process_init = so_process_init;
	so_backend.process_fini = so_process_fini;
	so_backend.thread_init = h->thread_init;
	so_backend.thread_fini = h->thread_fini;
	so_backend.handle = so_handle;
	return &so_backend;
}

/* Make the pool's module_options visible to pooled_option(). */
void
handler_so_set_options(const struct pool_conf *pc)
{
	so_pool = pc;
}

/* The value of module option key ("" for a bare key), or NULL. */
const char *
pooled_option(const char *key)
{
	size_t	 i, len = strlen(key);

	if (so_pool == NULL)
		return NULL;
	for (i = 0; i < so_pool->nmodule_options; i++) {
		const char *o = so_pool->module_options[i];

		if (strncmp(o, key, len) != 0)
			continue;
		if (o[len] == '=')
			return o + len + 1;
		if (o[len] == '\0')
			return "";
	}
	return NULL;
}

/* The i-th module option as written, or NULL. */
const char *
pooled_option_at(size_t i)
{
	if (so_pool == NULL || i >= so_pool->nmodule_options)
		return NULL;
	return so_pool->module_options[i];
}

/* Log from a module, outside any request. */
void
pooled_log(enum pooled_log_level level, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vmsg((int)level, "module:", fmt, ap);
	va_end(ap);
}
