/* power.c: ACPI S5 via PM1a, reset via the FADT register, port 0xCF9 or the keyboard controller
 * (which bytes of a write mean what: power_decode.c). */
#include "power.h"
#include "power_decode.h"
#include "vmx.h"
#include "../arch/x86_64/cpu.h"
#include "../arch/x86_64/io.h"
#include "../arch/x86_64/tsc.h"
#include "../kernel/log.h"

#define POWER_SETTLE_US 500000

static struct power_ports pw;
static u16 pending_pm1a; /* the guest's S5 write, replayed after the statistics */

void power_init(const struct acpi_info *acpi)
{
	if (acpi->have_fadt && acpi->pm1a_cnt.space_id == ACPI_GAS_IO && acpi->pm1a_cnt.address &&
	    acpi->pm1a_cnt.address < 0x10000) {
		pw.have_pm1a = true;
		pw.pm1a = (u16)acpi->pm1a_cnt.address;
		pw.s5_type = acpi->have_s5 ? acpi->s5_slp_typa : 0;
		vmx_trap_io_port(pw.pm1a, 2);
	} else {
		pr_warn("power: no I/O-port PM1a control register: a guest power-off is not seen");
	}
	if (acpi->reset_supported && acpi->reset_reg.space_id == ACPI_GAS_IO &&
	    acpi->reset_reg.address < 0x10000) {
		pw.have_reset_port = true;
		pw.reset_port = (u16)acpi->reset_reg.address;
		pw.reset_value = acpi->reset_value;
		vmx_trap_io_port(pw.reset_port, 1);
	}
	vmx_trap_io_port(PORT_RESET_CONTROL, 1);
	vmx_trap_io_port(PORT_KBC_COMMAND, 1);
}

static void out(u16 port, unsigned size, u32 value)
{
	if (size == 1)
		outb(port, (u8)value);
	else if (size == 2)
		outw(port, (u16)value);
	else
		outl(port, value);
}

enum exit_action power_port_write(struct vcpu *v, u16 port, unsigned size, u32 value)
{
	u8 pm1a_low = 0;
	if (pw.have_pm1a && io_covers(port, size, pw.pm1a + 1u) && !io_covers(port, size, pw.pm1a))
		pm1a_low = inb(pw.pm1a); /* the write keeps the low byte as it is */
	struct power_decoded d = power_decode_write(&pw, port, size, value, pm1a_low);
	switch (d.req) {
	case POWER_OFF:
		pending_pm1a = d.pm1a_value;
		guest_stop(v, STOP_POWER_OFF, "power: the guest powers off (ACPI S5 from vcpu%u)", v->index);
		return EXIT_STOP;
	case POWER_SLEEP:
		/* S1-S4 would resume in firmware with VMX gone: refuse, the guest sees it fail. */
		pr_warn("power: the guest asked for sleep type %u; sleep states are not supported, ignored",
			(d.pm1a_value >> PM1_CNT_SLP_TYP_SHIFT) & 7);
		return EXIT_RESUME;
	case POWER_RESET:
		guest_stop(v, STOP_RESET, "power: the guest resets the machine (port 0x%x from vcpu%u)",
			   d.port, v->index);
		return EXIT_STOP;
	case POWER_NONE:
		break;
	}
	out(port, size, value); /* anything else on these ports is the guest's business */
	return EXIT_RESUME;
}

void power_finish(enum stop_then then)
{
	if (then == STOP_POWER_OFF) {
		pr_info("power: powering off");
		out(pw.pm1a, 2, pending_pm1a);
		udelay(POWER_SETTLE_US);
		pr_err("power: the machine did not power off; halted");
	} else if (then == STOP_RESET) {
		pr_info("power: resetting");
		if (pw.have_reset_port)
			outb(pw.reset_port, pw.reset_value);
		udelay(POWER_SETTLE_US);
		outb(PORT_RESET_CONTROL, CF9_HARD | CF9_RESET);
		udelay(POWER_SETTLE_US);
		outb(PORT_KBC_COMMAND, KBC_PULSE_RESET);
		udelay(POWER_SETTLE_US);
		pr_err("power: the machine did not reset; halted");
	} else {
		pr_info("guest: stopped; slatvisor stays halted (power-cycle the machine to go on)");
	}
}
