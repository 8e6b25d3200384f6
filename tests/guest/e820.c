/*
 * e820.c: the memory map slatvisor gave the guest in boot_params (Linux
 * Documentation/x86/zero-page.rst: e820_entries at 0x1E8, e820_table at 0x2D0).
 */
#include "guest.h"

#define BP_E820_ENTRIES 0x1E8
#define BP_E820_TABLE 0x2D0
#define PAGE 4096ULL

const u8 *guest_boot_params;

const struct e820_entry *e820_table(unsigned *n)
{
	*n = guest_boot_params[BP_E820_ENTRIES];
	if (*n > E820_MAX)
		*n = E820_MAX;
	return (const struct e820_entry *)(guest_boot_params + BP_E820_TABLE);
}

/*
 * The highest RAM page in [lo, hi): the real-mode page the AP start-up probe puts its code
 * in must be RAM the guest owns, below 1 MiB. 0 if there is none.
 */
u64 e820_ram_page_below(u64 lo, u64 hi)
{
	unsigned n;
	const struct e820_entry *e = e820_table(&n);
	u64 best = 0;
	for (unsigned i = 0; i < n; i++) {
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

u64 e820_hidden_page(u64 lo)
{
	unsigned n;
	const struct e820_entry *e = e820_table(&n);
	/* The map is sorted by address (slatvisor writes it so): neighbours are adjacent entries. */
	for (unsigned i = 1; i + 1 < n; i++)
		if (e[i].addr >= lo && e[i].type == E820_RESERVED && e[i - 1].type == E820_RAM && e[i + 1].type == E820_RAM &&
		    e[i - 1].addr + e[i - 1].size == e[i].addr && e[i].addr + e[i].size == e[i + 1].addr)
			return (e[i].addr + PAGE - 1) & ~(PAGE - 1);
	return 0;
}
