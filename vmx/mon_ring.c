/* mon_ring.c: write event records into a guest's ring, never past it and never blocking. */
#include "mon_ring.h"
#include "../kernel/kstring.h"

#define RING_HEADER sizeof(struct slat_ring_header)

/* Copy @len bytes to byte offset @off of the ring, across frame boundaries. */
static void ring_write(struct mon_ring *r, u64 off, const void *src, size_t len)
{
	const u8 *s = src;
	while (len) {
		u64 frame = off / PAGE_SIZE, in = off % PAGE_SIZE;
		size_t chunk = MIN(len, (size_t)(PAGE_SIZE - in));
		memcpy(r->page(r->frames[frame]) + in, s, chunk);
		s += chunk;
		off += chunk;
		len -= chunk;
	}
}

static struct slat_ring_header *header(struct mon_ring *r)
{
	return (struct slat_ring_header *)r->page(r->frames[0]);
}

void mon_ring_init(struct mon_ring *r, const u64 *frames, unsigned n, u8 *(*page)(u64 frame))
{
	memset(r, 0, sizeof(*r));
	r->page = page;
	r->nframes = MIN(n, (unsigned)SLAT_RING_MAX_PAGES);
	for (unsigned i = 0; i < r->nframes; i++)
		r->frames[i] = frames[i];
	r->capacity = (r->nframes * PAGE_SIZE - RING_HEADER) / sizeof(struct slat_event);
	struct slat_ring_header h = { SLAT_RING_MAGIC, sizeof(struct slat_event), r->capacity, 0, 0, 0, { 0 } };
	ring_write(r, 0, &h, sizeof(h));
}

bool mon_ring_put(struct mon_ring *r, struct slat_event *e)
{
	if (!r->nframes)
		return false;
	struct slat_ring_header *h = header(r);
	u64 tail = h->tail;
	/* A tail that is not in [head - capacity, head] is the guest's mistake: treat it as full. */
	if (tail > r->head || r->head - tail >= r->capacity) {
		r->dropped++;
		h->dropped = r->dropped;
		return false;
	}
	e->seq = r->head;
	ring_write(r, RING_HEADER + (r->head % r->capacity) * sizeof(*e), e, sizeof(*e));
	/* The record first, then head: a reader that sees the new head sees the whole record. */
	__atomic_store_n(&h->head, r->head + 1, __ATOMIC_RELEASE);
	r->head++;
	h->dropped = r->dropped;
	return true;
}
