/*
 * error.c - error codes and the version string.
 */
#include "core.h"

#define PT__STR2(x)	#x
#define PT__STR(x)	PT__STR2(x)

/* Returns the library version. */
const char *
pt_version(void)
{
	return PT__STR(PT_VERSION_MAJOR) "." PT__STR(PT_VERSION_MINOR) "."
	    PT__STR(PT_VERSION_PATCH);
}

/* Describes a PT_E* code. */
const char *
pt_strerror(int err)
{
	switch (err) {
	case 0:			return "success";
	case PT_EINVAL:		return "invalid argument";
	case PT_ENAMETOOLONG:	return "name too long";
	case PT_ENOMEM:		return "out of memory";
	case PT_ELIMIT:		return "too many call sites";
	case PT_ESYS:		return "system call failed";
	case PT_EPROTO:		return "protocol error";
	case PT_EVERSION:	return "protocol version mismatch";
	case PT_ENOENT:		return "no such instrumented process";
	case PT_EPERM:		return "permission refused";
	case PT_ECLOSED:	return "connection closed by peer";
	case PT_ETIMEDOUT:	return "timed out";
	case PT_EDISABLED:	return "disabled";
	case PT_EBUSY:		return "busy";
	case PT_ERANGE:		return "value out of range";
	default:		return "unknown error";
	}
}
