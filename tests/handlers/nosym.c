/*
 * nosym: a test shared object that loads fine but exports no
 * pooled_handler_v1, only an unrelated function, so dlsym() must fail.
 */
int	 nosym_answer(void);

/* Something for the object to export. */
int
nosym_answer(void)
{
	return 42;
}
