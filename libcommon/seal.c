#include "seal.h"

#include <errno.h>
#include <sodium.h>

int
seal_init(void)
{
	if (sodium_init() < 0) {
		errno = EIO;
		return (-1);
	}
	return (0);
}

void
seal_random(void *p, size_t n)
{
	randombytes_buf(p, n);
}

unsigned
seal_uniform(unsigned upper)
{
	return (randombytes_uniform(upper));
}

void
seal_hex(char *out, const void *p, size_t n)
{
	sodium_bin2hex(out, 2 * n + 1, p, n);
}

int
seal_unhex(void *p, size_t n, const char *hex, size_t hexlen)
{
	size_t got;

	if (hexlen != 2 * n ||
	    sodium_hex2bin(p, n, hex, hexlen, NULL, &got, NULL) != 0 ||
	    got != n) {
		errno = EINVAL;
		return (-1);
	}
	return (0);
}
