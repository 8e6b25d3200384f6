/* log.c: format each line whole, then print it under one lock so CPUs never interleave. */
#include "log.h"
#include "console.h"
#include "fmt.h"
#include "spinlock.h"
#include "../arch/x86_64/percpu.h"
#include "../arch/x86_64/tsc.h"

#define LINE_MAX 512
#define PANIC_LOCK_SPINS 100000000ULL

static enum log_level max_level = LOG_INFO;
static spinlock_t lock;
static volatile bool panic_mode;

void log_set_level(enum log_level lvl)
{
	max_level = lvl;
}

void log_enter_panic_mode(void)
{
	panic_mode = true;
}

static const char *const level_tag[] = {
	[LOG_ERROR] = "error: ",
	[LOG_WARN] = "warning: ",
	[LOG_INFO] = "",
	[LOG_DEBUG] = "debug: ",
};

void log_vmsg(enum log_level lvl, const char *fmt, va_list ap)
{
	if (lvl > max_level)
		return;
	char line[LINE_MAX];
	u64 us = tsc_us_since_boot();
	int n = fmt_snprintf(line, sizeof(line), "[%5llu.%06llu] cpu%u %s",
			     (unsigned long long)(us / 1000000), (unsigned long long)(us % 1000000),
			     this_cpu()->index, level_tag[lvl]);
	if (n < (int)sizeof(line))
		n += fmt_vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	if (n > (int)sizeof(line) - 2) /* truncated: keep the newline */
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';

	bool locked;
	if (panic_mode) {
		/* Another CPU may have died holding the lock: try, then print anyway. */
		u64 spins = 0;
		while (!(locked = spin_trylock(&lock)) && spins++ < PANIC_LOCK_SPINS)
			cpu_relax();
	} else {
		spin_lock(&lock);
		locked = true;
	}
	console_write(line, (size_t)n);
	if (locked)
		spin_unlock(&lock);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(lvl, fmt, ap);
	va_end(ap);
}
