/*
 * probes_io.c: port writes near the reset and power-off registers that do neither.
 *
 * A 32-bit write at 0xCF8 is the PCI configuration address, not a write of its low byte to
 * 0xCF9 (the reset control register, bit 2 RST_CPU); 16-bit and byte accesses there that leave
 * RST_CPU clear reset nothing. A 16-bit write with SLP_EN|S5 at PM1a_CNT + 2 is not a write of
 * PM1a_CNT. Keyboard-controller commands 0xAD/0xAE (disable/enable the keyboard) are not
 * 0xFE (pulse reset). Passing means still running afterwards: a reset or power-off ends the
 * run before the "ok" line and the summary.
 */
#include "guest.h"

#define PCI_CONFIG_ADDRESS 0xCF8
#define RESET_CONTROL 0xCF9
#define KBC_COMMAND 0x64
#define KBC_STATUS_IBF 0x02 /* input buffer full: the controller has not taken the last command */
#define KBC_DISABLE_KBD 0xAD
#define KBC_ENABLE_KBD 0xAE
#define PM1_CNT_SLP_EN BIT(13)

static void kbc_command(u8 c)
{
	for (unsigned i = 0; i < 100000 && (inb(KBC_COMMAND) & KBC_STATUS_IBF); i++)
		;
	outb(KBC_COMMAND, c);
}

PROBE(port_widths)
{
	outw(PCI_CONFIG_ADDRESS, 0x0000);
	outl(PCI_CONFIG_ADDRESS, 0x80000000);
	(void)inb(RESET_CONTROL);
	outl(PCI_CONFIG_ADDRESS, 0);
	if (acpi.pm1a_cnt)
		outw((u16)(acpi.pm1a_cnt + 2), (u16)(acpi.s5_type << 10 | PM1_CNT_SLP_EN));
	kbc_command(KBC_DISABLE_KBD);
	kbc_command(KBC_ENABLE_KBD);
	return acpi.pm1a_cnt ? NULL : failf("no PM1a_CNT found: the PM1a write was not tried");
}
