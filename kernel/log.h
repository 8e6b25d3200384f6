/* log.h: timestamped, per-CPU log lines on the console, filtered by loglevel=. */
#ifndef SLAT_LOG_H
#define SLAT_LOG_H

#include <stdarg.h>
#include "types.h"

/* Index order matches the loglevel= option's choices. */
enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_set_level(enum log_level lvl);
void log_msg(enum log_level lvl, const char *fmt, ...) PRINTF_LIKE(2, 3);
void log_vmsg(enum log_level lvl, const char *fmt, va_list ap);
/* The panic path: stop waiting for a lock another (now stopped) CPU may hold. */
void log_enter_panic_mode(void);

#define pr_err(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define pr_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define pr_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define pr_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
