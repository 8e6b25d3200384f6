/* test_power.c: which bytes of a guest OUT power off or reset the machine (vmx/power_decode.c). */
#include "check.h"
#include "../../vmx/power_decode.h"
#include "../../arch/x86_64/acpi.h"

/* As Bochs's and QEMU's PIIX4 FADT give them: PM1a control at 0xB004, S5 type 0, reset 0xCF9 <- 6. */
static const struct power_ports piix = { true, 0xB004, 0, true, 0xCF9, 6 };

#define S5 (PM1_CNT_SLP_EN | (0u << PM1_CNT_SLP_TYP_SHIFT))
#define S3 (PM1_CNT_SLP_EN | (1u << PM1_CNT_SLP_TYP_SHIFT))

static enum power_request req(u16 port, unsigned size, u32 value)
{
	return power_decode_write(&piix, port, size, value, 0).req;
}

TEST(power_pm1a_in_every_width_and_lane)
{
	CHECK_EQ(req(0xB004, 2, S5), POWER_OFF);
	CHECK_EQ(req(0xB004, 4, S5), POWER_OFF);
	CHECK_EQ(req(0xB004, 2, S3), POWER_SLEEP);
	/* The upper byte alone, and the upper byte reached from below. */
	CHECK_EQ(req(0xB005, 1, S5 >> 8), POWER_OFF);
	CHECK_EQ(req(0xB005, 2, S5 >> 8), POWER_OFF);
	CHECK_EQ(req(0xB003, 4, S5 << 8), POWER_OFF);
	CHECK_EQ(req(0xB002, 4, (u32)S5 << 16), POWER_OFF);
	/* SLP_EN in the low byte of the register is not SLP_EN. */
	CHECK_EQ(req(0xB004, 1, 0xFF), POWER_NONE);
	CHECK_EQ(req(0xB003, 2, (u32)S5), POWER_NONE);
	CHECK_EQ(req(0xB006, 2, S5), POWER_NONE);
	CHECK_EQ(req(0xB004, 2, S5 & ~PM1_CNT_SLP_EN), POWER_NONE);
	struct power_decoded d = power_decode_write(&piix, 0xB005, 1, S5 >> 8, 0x21);
	CHECK_EQ(d.pm1a_value, S5 | 0x21); /* the low byte kept as the register holds it */
	CHECK_EQ(d.port, 0xB004);
}

TEST(power_reset_control_0xcf9_byte_lanes)
{
	CHECK_EQ(req(0xCF9, 1, CF9_RESET), POWER_RESET);
	CHECK_EQ(req(0xCF9, 1, CF9_RESET | CF9_HARD), POWER_RESET);
	CHECK_EQ(req(0xCF9, 1, CF9_HARD), POWER_NONE);
	CHECK_EQ(req(0xCF8, 2, CF9_RESET << 8), POWER_RESET);
	CHECK_EQ(req(0xCF9, 2, CF9_RESET), POWER_RESET);
	CHECK_EQ(req(0xCF9, 4, 0x0600), POWER_NONE);
	/* A 32-bit access at 0xCF8 is the PCI configuration address, whatever its bytes. */
	CHECK_EQ(req(0xCF8, 4, 0x80000600), POWER_NONE);
	CHECK_EQ(req(0xCF8, 4, 0xFFFFFFFF), POWER_NONE);
	CHECK_EQ(req(0xCF7, 4, 0x06000000), POWER_NONE);
	CHECK_EQ(req(0xCF6, 4, 0x06000000), POWER_RESET);
}

TEST(power_keyboard_controller_pulse)
{
	CHECK_EQ(req(0x64, 1, KBC_PULSE_RESET), POWER_RESET);
	CHECK_EQ(req(0x64, 2, 0xAB00 | KBC_PULSE_RESET), POWER_RESET);
	CHECK_EQ(req(0x63, 2, KBC_PULSE_RESET << 8), POWER_RESET);
	CHECK_EQ(req(0x61, 4, (u32)KBC_PULSE_RESET << 24), POWER_RESET);
	CHECK_EQ(req(0x64, 1, 0xFF), POWER_NONE);
	CHECK_EQ(req(0x63, 2, KBC_PULSE_RESET), POWER_NONE);
	CHECK_EQ(power_decode_write(&piix, 0x63, 2, KBC_PULSE_RESET << 8, 0).port, PORT_KBC_COMMAND);
}

TEST(power_fadt_reset_register_elsewhere)
{
	struct power_ports p = { true, 0x604, 5, true, 0x510, 0x0E };
	CHECK_EQ(power_decode_write(&p, 0x510, 1, 0x0E, 0).req, POWER_RESET);
	CHECK_EQ(power_decode_write(&p, 0x50F, 2, 0x0E00, 0).req, POWER_RESET);
	CHECK_EQ(power_decode_write(&p, 0x510, 1, 0x0F, 0).req, POWER_NONE);
	CHECK_EQ(power_decode_write(&p, 0x604, 2, PM1_CNT_SLP_EN | (5u << PM1_CNT_SLP_TYP_SHIFT), 0).req,
		 POWER_OFF);
	CHECK_EQ(power_decode_write(&p, 0x604, 2, PM1_CNT_SLP_EN, 0).req, POWER_SLEEP);
	/* No FADT registers: only the fixed ports mean anything. */
	struct power_ports none = { 0 };
	CHECK_EQ(power_decode_write(&none, 0x604, 2, PM1_CNT_SLP_EN, 0).req, POWER_NONE);
	CHECK_EQ(power_decode_write(&none, 0xCF9, 1, CF9_RESET, 0).req, POWER_RESET);
}
