/*
 * fuzz_io.c: port I/O on the ports slatvisor traps or decodes: the PM1a event and control
 * blocks (acpi.c), the FADT reset register, 0xCF8 and 0xCFC, 0xCF9, the keyboard controller's
 * 0x64 and 0x60; 8, 16 or 32 bits wide. IN and OUT at CPL 0 raise nothing.
 *
 * The writes are masked so that none resets or powers the machine off, byte by byte of what
 * the access covers: SLP_EN (bit 13) and GBL_RLS (bit 2, an SMI to the firmware; ACPI 6.x,
 * 4.8.3.2.1) are never set in PM1a_CNT; the reset register never receives its reset value;
 * 0xCF9 only takes 8-bit writes with SYS_RST and RST_CPU (bits 1 and 2) clear; keyboard
 * controller commands 0xF0-0xFF (pulse output lines, 0xFE the reset) become 0xFF (pulse
 * none), 0xD1 (write the output port, whose bit 0 is the reset line) becomes 0xD0 (read it),
 * 0xDD (A20 off) becomes 0xDC; 0x60 is only accessed 8 bits wide.
 * Bochs 2.7's keyboard controller stops the emulator (a panic) where a real one answers, so
 * the commands and bytes it panics on become harmless ones too: commands 0xA9, 0xAB, 0xC0,
 * 0xD0 (with the output buffer full), 0xC1, 0xC2, 0xE0 (always), and 0xCA, 0xD2, 0xD3, 0xD4
 * (they queue bytes until its controller queue overflows, or pass mouse parameters it does
 * not know) become 0xFF; keyboard bytes 0x05 and 0xED (a panic once its internal buffer is
 * full) and 0xFE (resend, always) become 0xEE (echo). Writes to 0xCFC are made
 * reads: a PCI configuration write at a random address could move or turn off the ACPI PM
 * block the power-off needs. A write to a register that holds state (PM1a, 0xCF8) is followed
 * by its old value, read before. Reads are never masked.
 */
#include "fuzz.h"

#define PM1_CNT_GBL_RLS 0x04 /* bit 2, in the low byte */
#define PM1_CNT_SLP_EN_HI 0x20 /* bit 13: bit 5 of the high byte */
#define PCI_CONFIG_ADDRESS 0xCF8
#define PCI_CONFIG_DATA 0xCFC
#define RESET_CONTROL 0xCF9
#define CF9_SYS_RST 0x02
#define CF9_RST_CPU 0x04
#define KBC_DATA 0x60
#define KBC_COMMAND 0x64
#define KBC_PULSE_FIRST 0xF0
#define KBC_PULSE_NONE 0xFF
#define KBC_WRITE_OUTPUT 0xD1
#define KBC_READ_OUTPUT 0xD0
#define KBC_A20_OFF 0xDD
#define KBC_NO_COMMAND 0xDC /* no 8042 command: the neighbour of 0xDD */
#define KBD_CMD_05 0x05 /* no keyboard command; Bochs answers it from its internal buffer */
#define KBD_SET_LEDS 0xED
#define KBD_RESEND 0xFE
#define KBD_ECHO 0xEE

static u16 ports[9];
static unsigned nports;

static void ports_init(void)
{
	if (acpi.pm1a_evt) {
		ports[nports++] = acpi.pm1a_evt;     /* status */
		ports[nports++] = acpi.pm1a_evt + 2; /* enable (PM1a_EVT_LEN 4 on PIIX4 and q35) */
	}
	if (acpi.pm1a_cnt)
		ports[nports++] = acpi.pm1a_cnt;
	if (acpi.reset_port)
		ports[nports++] = acpi.reset_port;
	static const u16 fixed[] = { PCI_CONFIG_ADDRESS, PCI_CONFIG_DATA, RESET_CONTROL, KBC_COMMAND, KBC_DATA };
	for (unsigned i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		ports[nports++] = fixed[i];
}

static u32 in_w(u16 port, unsigned width)
{
	return width == 1 ? inb(port) : width == 2 ? inw(port) : inl(port);
}
static void out_w(u16 port, unsigned width, u32 v)
{
	if (width == 1)
		outb(port, (u8)v);
	else if (width == 2)
		outw(port, (u16)v);
	else
		outl(port, v);
}

static u8 kbc_command(u8 c)
{
	if (c >= KBC_PULSE_FIRST)
		c = KBC_PULSE_NONE;
	else if (c == KBC_WRITE_OUTPUT)
		c = KBC_READ_OUTPUT;
	else if (c == KBC_A20_OFF)
		c = KBC_NO_COMMAND;
	static const u8 bochs_panics[] = { 0xA9, 0xAB, 0xC0, 0xC1, 0xC2, 0xCA, 0xD0, 0xD2, 0xD3, 0xD4, 0xE0 };
	for (unsigned i = 0; i < sizeof(bochs_panics); i++)
		if (c == bochs_panics[i])
			return KBC_PULSE_NONE;
	return c;
}

static u8 kbc_data(u8 b)
{
	return b == KBD_CMD_05 || b == KBD_SET_LEDS || b == KBD_RESEND ? KBD_ECHO : b;
}

/* @v as written @width bytes wide at @port, each byte made harmless for the port it reaches. */
static u32 mask(u16 port, unsigned width, u32 v)
{
	bool config_address = port == PCI_CONFIG_ADDRESS && width == 4;
	for (unsigned i = 0; i < width; i++) {
		u16 at = (u16)(port + i);
		u8 b = (u8)(v >> (8 * i));
		if (acpi.pm1a_cnt && at == acpi.pm1a_cnt)
			b &= (u8)~PM1_CNT_GBL_RLS;
		if (acpi.pm1a_cnt && at == acpi.pm1a_cnt + 1)
			b &= (u8)~PM1_CNT_SLP_EN_HI;
		if (at == RESET_CONTROL && !config_address)
			b &= (u8)~(CF9_SYS_RST | CF9_RST_CPU);
		if (at == KBC_COMMAND)
			b = kbc_command(b);
		if (at == KBC_DATA)
			b = kbc_data(b);
		if (acpi.reset_port && at == acpi.reset_port && !config_address && b == acpi.reset_value)
			b ^= 1;
		v = (v & ~(0xFFu << (8 * i))) | (u32)b << (8 * i);
	}
	return v;
}

static u16 io_port;
static unsigned io_width;
static u32 io_value;
static bool io_restore;

static void do_in(u64 unused) { (void)unused; io_value = in_w(io_port, io_width); }
static void do_out(u64 unused)
{
	(void)unused;
	u32 old = io_restore ? mask(io_port, io_width, in_w(io_port, io_width)) : 0;
	out_w(io_port, io_width, io_value);
	if (io_restore)
		out_w(io_port, io_width, old);
}

void fz_io(const u64 *w, struct fz_out *o)
{
	if (!nports)
		ports_init();
	static const unsigned widths[] = { 1, 2, 4 };
	io_port = ports[w[0] % nports];
	io_width = widths[w[1] % 3];
	bool write = (w[1] / 3) & 1;
	if (io_port == KBC_DATA || (write && io_port == RESET_CONTROL))
		io_width = 1;
	if (io_port == PCI_CONFIG_DATA)
		write = false;
	io_value = mask(io_port, io_width, (u32)w[2]);
	io_restore = io_port != KBC_DATA && io_port != KBC_COMMAND && io_port != RESET_CONTROL &&
		     io_port != acpi.reset_port;
	static const char *const outs[] = { "OUTB port 0x%lx <- 0x%lx", "OUTW port 0x%lx <- 0x%lx", "",
					    "OUTL port 0x%lx <- 0x%lx" };
	o->what = write ? outs[io_width - 1] : "IN port 0x%lx, %lu bytes";
	o->a = io_port;
	o->b = write ? io_value : io_width;
	o->allowed = FZ_OK;
	o->vec = fz_call(write ? do_out : do_in, 0);
}
