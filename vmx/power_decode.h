/* power_decode.h: what a guest OUT does to the power and reset registers, byte by byte (pure). */
#ifndef SLAT_POWER_DECODE_H
#define SLAT_POWER_DECODE_H

#include "../kernel/types.h"

#define PORT_PCI_CONFIG_ADDRESS 0xCF8 /* PCI CONFIG_ADDRESS: decoded for 32-bit accesses only */
#define PORT_RESET_CONTROL 0xCF9      /* reset control: bit 2 starts a reset, bit 1 makes it hard */
#define CF9_RESET BIT(2)
#define CF9_HARD BIT(1)
#define PORT_KBC_COMMAND 0x64
#define KBC_PULSE_RESET 0xFE

/* The registers as the FADT gives them. */
struct power_ports {
	bool have_pm1a;
	u16 pm1a;          /* PM1a control, 16 bits: SLP_TYP and SLP_EN sit in its upper byte */
	u8 s5_type;
	bool have_reset_port;
	u16 reset_port;    /* the FADT reset register: 8 bits wide (ACPI 6.5, 5.2.9) */
	u8 reset_value;
};

enum power_request {
	POWER_NONE,   /* nothing of ours: the write goes to the hardware as it is */
	POWER_OFF,    /* SLP_EN with the S5 type */
	POWER_SLEEP,  /* SLP_EN with another type */
	POWER_RESET,
};

struct power_decoded {
	enum power_request req;
	u16 pm1a_value; /* POWER_OFF and POWER_SLEEP: the PM1a control value written */
	u16 port;       /* the register that decided it */
};

/* Does an access of @size bytes at @port touch the byte at @addr? */
static inline bool io_covers(u16 port, unsigned size, u32 addr)
{
	return addr >= port && addr < (u32)port + size;
}

/*
 * An OUT of @size bytes (1, 2, 4) of @value at @port. The devices decode
 * bytes: an access wider than a register, or starting below it, writes the
 * register with the byte that lands on it, so a reset or a power-off can
 * sit in any byte lane. The one exception is a 32-bit access at 0xCF8,
 * which is the PCI configuration address and never reaches 0xCF9 (PCI Local
 * Bus 3.0, 3.2.2.3.2). @pm1a_low is PM1a control's low byte as it is now,
 * used when the write covers only the upper byte (read it only then:
 * see io_covers).
 */
struct power_decoded power_decode_write(const struct power_ports *pp, u16 port, unsigned size,
					u32 value, u8 pm1a_low);

#endif
