/* status.c: names for status_t, for log messages. */
#include "types.h"

const char *status_name(status_t st)
{
	switch (st) {
	case ST_OK:
		return "ok";
	case ST_INVALID:
		return "invalid input";
	case ST_NOT_FOUND:
		return "not found";
	case ST_NO_MEMORY:
		return "out of memory";
	case ST_UNSUPPORTED:
		return "unsupported";
	case ST_TIMEOUT:
		return "timed out";
	case ST_CONFLICT:
		return "conflict";
	}
	return "unknown status";
}
