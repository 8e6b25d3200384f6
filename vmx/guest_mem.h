/* guest_mem.h: read guest memory by linear address, through the guest's own page tables. */
#ifndef SLAT_GUEST_MEM_H
#define SLAT_GUEST_MEM_H

#include "../kernel/types.h"

/*
 * Copy @len bytes at guest linear address @linear (current vCPU's paging
 * mode: off, or 4-level) into @buf. Guest-physical equals host-physical
 * under EPT; memory the guest may not reach is never read. Returns false if
 * any byte is not mapped or not readable that way.
 */
bool guest_read_linear(u64 linear, void *buf, size_t len);

#endif
