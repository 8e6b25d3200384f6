/* console.c: a polled 16550 UART driver that waits for the transmitter before every byte. */
#include "console.h"
#include "../arch/x86_64/cpu.h"
#include "../arch/x86_64/io.h"

#define COM1_BASE 0x3F8
#define COM2_BASE 0x2F8
#define DEBUGCON_PORT 0xE9 /* QEMU -debugcon and Bochs port_e9_hack */

/* 16550 register offsets and bits (PC16550D data sheet). */
#define UART_THR 0 /* transmit holding (DLAB=0) */
#define UART_DLL 0 /* divisor latch low (DLAB=1) */
#define UART_IER 1
#define UART_DLM 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define LCR_8N1 0x03
#define LCR_DLAB BIT(7)
#define FCR_ENABLE_CLEAR 0x07 /* enable FIFOs, clear receive and transmit */
#define MCR_DTR_RTS_OUT2 0x0B
#define LSR_THRE BIT(5) /* the transmit holding register can take a byte */
#define UART_CLOCK 115200
#define BAUD 115200

/*
 * A missing UART reads back 0xFF forever, or never sets THRE: bound the wait
 * so the hypervisor keeps running (and stays silent) instead of hanging.
 */
#define THRE_SPIN_LIMIT 1000000

static enum console_kind kind = CONSOLE_COM1;
static u16 uart_base = COM1_BASE;
static bool uart_dead;

void console_init(enum console_kind k)
{
	kind = k;
	if (k == CONSOLE_E9)
		return;
	uart_base = k == CONSOLE_COM2 ? COM2_BASE : COM1_BASE;
	uart_dead = false;
	outb(uart_base + UART_IER, 0); /* polled: no interrupts */
	outb(uart_base + UART_LCR, LCR_DLAB);
	outb(uart_base + UART_DLL, (u8)(UART_CLOCK / BAUD));
	outb(uart_base + UART_DLM, 0);
	outb(uart_base + UART_LCR, LCR_8N1);
	outb(uart_base + UART_FCR, FCR_ENABLE_CLEAR);
	outb(uart_base + UART_MCR, MCR_DTR_RTS_OUT2);
}

static void uart_putc(char c)
{
	if (uart_dead)
		return;
	for (u32 spins = 0; !(inb(uart_base + UART_LSR) & LSR_THRE); spins++) {
		if (spins == THRE_SPIN_LIMIT) {
			uart_dead = true;
			return;
		}
		cpu_relax();
	}
	outb(uart_base + UART_THR, (u8)c);
}

static void putc_raw(char c)
{
	if (kind == CONSOLE_E9)
		outb(DEBUGCON_PORT, (u8)c);
	else
		uart_putc(c);
}

void console_write(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			putc_raw('\r');
		putc_raw(s[i]);
	}
}

const char *console_describe(void)
{
	switch (kind) {
	case CONSOLE_COM2:
		return "COM2 (0x2f8), 115200 8N1";
	case CONSOLE_E9:
		return "debug port 0xe9";
	default:
		return "COM1 (0x3f8), 115200 8N1";
	}
}
