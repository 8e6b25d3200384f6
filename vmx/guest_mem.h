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

/*
 * Where guest linear @linear is, through the current vCPU's page tables (as guest_read_linear;
 * 4-level paging only). With @user_write the page must be one user code may write.
 */
bool guest_linear_to_phys(u64 linear, u64 *phys, bool user_write);

struct vcpu;
struct mmio_store;
/*
 * Decode the store instruction at the current vCPU's RIP (a MOV to memory, 64-bit mode) into
 * @st, and the value it stores into @value. False if the vCPU is not in 64-bit mode, its
 * code is unreadable, or the instruction is not one insn_decode_store() knows.
 */
bool guest_decode_store(struct vcpu *v, struct mmio_store *st, u64 *value);

#endif
