/* memmap.h: turn the loader's memory map into cacheable and uncacheable spans for the host map. */
#ifndef SLAT_MEMMAP_H
#define SLAT_MEMMAP_H

#include "pmm.h"
#include "../kernel/multiboot2.h"
#include "../kernel/types.h"

#define MEMMAP_MAX_SPANS (2 * MB2_MAX_MMAP + 2)

struct mem_span {
	u64 base;
	u64 end; /* exclusive */
	bool ram; /* RAM the firmware described (usable or ACPI): mapped write-back */
};

/*
 * Cover [0, top) with page-aligned spans, each RAM or not. A range counts as
 * RAM when a usable or ACPI entry covers it and no reserved or bad entry does
 * (firmware maps overlap at times; the more cautious type wins). Adjacent
 * spans of one kind are merged. Returns the number of spans.
 */
unsigned memmap_spans(const struct mem_region *map, unsigned n, u64 top, struct mem_span *out,
		      unsigned max);

/* The end of the highest entry of the map (of any type). */
u64 memmap_top(const struct mem_region *map, unsigned n);

/*
 * The lowest 4 KiB page in [0x1000, 1 MiB) that an available entry covers
 * whole and that overlaps none of @avoid (boot information, modules).
 * The AP trampoline runs there: a startup IPI can only name a page below 1 MiB.
 * Returns 0 when there is none.
 */
u64 memmap_low_page(const struct mem_region *map, unsigned n, const struct phys_range *avoid,
		    unsigned navoid);

#endif
