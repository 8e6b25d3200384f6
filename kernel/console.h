/* console.h: where log output goes: a 16550 UART (COM1/COM2) or the 0xE9 debug port. */
#ifndef SLAT_CONSOLE_H
#define SLAT_CONSOLE_H

#include "types.h"

/* Index order matches the console= option's choices. */
enum console_kind { CONSOLE_COM1, CONSOLE_COM2, CONSOLE_E9 };

void console_init(enum console_kind kind);
void console_write(const char *s, size_t n);
const char *console_describe(void);

#endif
