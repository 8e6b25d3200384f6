/* power_decode.c: a trapped OUT, split into the bytes each register receives. */
#include "power_decode.h"
#include "../arch/x86_64/acpi.h"

static u8 byte_at(u16 port, u32 value, u32 addr)
{
	return (u8)(value >> (8 * (addr - port)));
}

struct power_decoded power_decode_write(const struct power_ports *pp, u16 port, unsigned size,
					u32 value, u8 pm1a_low)
{
	struct power_decoded d = { POWER_NONE, 0, 0 };
	if (pp->have_pm1a && io_covers(port, size, pp->pm1a + 1u)) {
		u8 lo = io_covers(port, size, pp->pm1a) ? byte_at(port, value, pp->pm1a) : pm1a_low;
		u16 pm1 = (u16)(byte_at(port, value, pp->pm1a + 1u) << 8 | lo);
		if (pm1 & PM1_CNT_SLP_EN) {
			unsigned type = (pm1 >> PM1_CNT_SLP_TYP_SHIFT) & 7;
			d.req = type == pp->s5_type ? POWER_OFF : POWER_SLEEP;
			d.pm1a_value = pm1;
			d.port = pp->pm1a;
			return d;
		}
	}
	bool config_address = port == PORT_PCI_CONFIG_ADDRESS && size == 4;
	if (!config_address && io_covers(port, size, PORT_RESET_CONTROL) &&
	    (byte_at(port, value, PORT_RESET_CONTROL) & CF9_RESET))
		d.port = PORT_RESET_CONTROL;
	else if (io_covers(port, size, PORT_KBC_COMMAND) &&
		 byte_at(port, value, PORT_KBC_COMMAND) == KBC_PULSE_RESET)
		d.port = PORT_KBC_COMMAND;
	else if (pp->have_reset_port && io_covers(port, size, pp->reset_port) &&
		 !(config_address && io_covers(PORT_PCI_CONFIG_ADDRESS, 4, pp->reset_port)) &&
		 byte_at(port, value, pp->reset_port) == pp->reset_value)
		d.port = pp->reset_port;
	if (d.port)
		d.req = POWER_RESET;
	return d;
}
