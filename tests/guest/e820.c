/*
 * e820.c: the memory map slatvisor gave the guest in boot_params (Linux
 * Documentation/x86/zero-page.rst: e820_entries at 0x1E8, e820_table at 0x2D0).
 */
#include "guest.h"

#define BP_E820_ENTRIES 0x1E8
#define BP_E820_TABLE 0x2D0
#define E820_MAX 128
#define E820_RAM 1
#define PAGE 4096ULL

struct e820_entry {
	u64 addr, size;
	u32 type;
} __attribute__((packed));

const u8 *guest_boot_params;

/*
 * The highest RAM page in [lo, hi): the real-mode page the AP start-up probe puts its code
 * in must be RAM the guest owns, below 1 MiB. 0 if there is none.
 */
u64 e820_ram_page_below(u64 lo, u64 hi)
{
	unsigned n = guest_boot_params[BP_E820_ENTRIES];
	const struct e820_entry *e = (const struct e820_entry *)(guest_boot_params + BP_E820_TABLE);
	u64 best = 0;
	for (unsigned i = 0; i < n && i < E820_MAX; i++) {
		if (e[i].type != E820_RAM)
			continue;
		u64 start = (e[i].addr + PAGE - 1) & ~(PAGE - 1), end = (e[i].addr + e[i].size) & ~(PAGE - 1);
		if (end > hi)
			end = hi;
		if (start < lo)
			start = lo;
		if (end > start && end - PAGE > best)
			best = end - PAGE;
	}
	return best;
}
