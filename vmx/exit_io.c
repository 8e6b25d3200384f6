/* exit_io.c: decode a trapped IN/OUT; only the power and reset ports are trapped. */
#include "exit.h"
#include "power.h"
#include "vmx.h"
#include "../arch/x86_64/io.h"
#include "../kernel/log.h"

/* SDM Vol. 3C, table 28-5: exit qualification for I/O instructions. */
#define IOQ_SIZE(q) ((unsigned)((q) & 7) + 1)
#define IOQ_IN(q) (((q) >> 3) & 1)
#define IOQ_STRING(q) (((q) >> 4) & 1)
#define IOQ_PORT(q) ((u16)((q) >> 16))

enum exit_action handle_io(struct vcpu *v, const struct exit_info *x)
{
	(void)x;
	u64 q = exit_qualification();
	u16 port = IOQ_PORT(q);
	unsigned size = IOQ_SIZE(q);
	if (IOQ_STRING(q)) {
		/* INS/OUTS to power or reset ports: no real guest does this; skip it, once noted. */
		static bool said;
		if (!said)
			pr_warn("io: string I/O to port 0x%x from vcpu%u skipped", port, v->index);
		said = true;
		vcpu_skip_instruction(v);
		return EXIT_RESUME;
	}
	u64 mask = size == 4 ? 0xFFFFFFFFULL : (1ULL << (8 * size)) - 1;
	if (IOQ_IN(q)) {
		u64 val = size == 1 ? inb(port) : size == 2 ? inw(port) : inl(port);
		u64 *rax = &v->regs.gpr[GPR_RAX];
		/* A 32-bit IN zero-extends into RAX; narrower ones keep the upper bits. */
		*rax = size == 4 ? val : (*rax & ~mask) | val;
		vcpu_skip_instruction(v);
		return EXIT_RESUME;
	}
	vcpu_skip_instruction(v);
	return power_port_write(v, port, size, (u32)(v->regs.gpr[GPR_RAX] & mask));
}
