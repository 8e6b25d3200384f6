/*
 * mon_ring.h: one vCPU's event ring in guest memory (pure logic, host unit tested).
 *
 * The ring is guest RAM the guest registered (hypercall_abi.h, SLAT_HC_MON_RING): a header,
 * then fixed-size records, over up to SLAT_RING_MAX_PAGES frames that need not be contiguous.
 * slatvisor keeps its own copies of what it wrote (head, capacity, dropped): the guest can
 * scribble on the header, but it can only make records drop, never make slatvisor write
 * outside the ring or block.
 */
#ifndef SLAT_MON_RING_H
#define SLAT_MON_RING_H

#include "hypercall_abi.h"
#include "../kernel/types.h"

struct mon_ring {
	u64 frames[SLAT_RING_MAX_PAGES]; /* guest-physical frame of each 4 KiB page */
	unsigned nframes;                /* 0: no ring registered */
	u64 capacity;                    /* records that fit after the header */
	u64 head;                        /* records written */
	u64 dropped;                     /* records lost to a full ring */
	u8 *(*page)(u64 frame);          /* where slatvisor reaches a frame */
};

_Static_assert(sizeof(struct slat_ring_header) == 64, "the ring header is 64 bytes");

/* Take @n frames as a ring and write its header. */
void mon_ring_init(struct mon_ring *r, const u64 *frames, unsigned n, u8 *(*page)(u64 frame));

/*
 * Append @e (its seq is set here, from head) unless the ring is full by the guest's tail;
 * then count it as dropped. Returns true if written.
 */
bool mon_ring_put(struct mon_ring *r, struct slat_event *e);

#endif
