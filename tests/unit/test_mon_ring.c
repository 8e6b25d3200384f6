/* test_mon_ring.c: event records in a guest ring over scattered frames (vmx/mon_ring.c). */
#include <string.h>
#include "check.h"
#include "../../vmx/mon_ring.h"

/* Four guest frames, deliberately out of order in "physical" memory. */
static unsigned char mem[4][4096] __attribute__((aligned(4096)));
static const u64 frames[] = { 0x3000, 0x1000, 0x2000, 0x0000 };

static u8 *page(u64 frame)
{
	return mem[frame / 4096];
}

static struct slat_ring_header *hdr(void)
{
	return (struct slat_ring_header *)page(frames[0]);
}

/* Read record @slot back the way the guest does: byte by byte through the frame list. */
static struct slat_event record(u64 slot)
{
	struct slat_event e;
	unsigned char *out = (unsigned char *)&e;
	for (size_t i = 0; i < sizeof(e); i++) {
		u64 off = sizeof(struct slat_ring_header) + slot * sizeof(e) + i;
		out[i] = page(frames[off / 4096])[off % 4096];
	}
	return e;
}

static struct slat_event ev(u64 gpa)
{
	struct slat_event e = { .cpu = 1, .monitor = 7, .access = SLAT_ACC_W, .gpa = gpa, .rip = gpa + 1, .count = 1 };
	return e;
}

TEST(mon_ring_header_tells_the_guest_the_geometry)
{
	memset(mem, 0xAA, sizeof(mem));
	struct mon_ring r;
	mon_ring_init(&r, frames, 4, page);
	CHECK_EQ(hdr()->magic, SLAT_RING_MAGIC);
	CHECK_EQ(hdr()->record_size, sizeof(struct slat_event));
	CHECK_EQ(hdr()->capacity, (4 * 4096 - 64) / sizeof(struct slat_event));
	CHECK_EQ(hdr()->head, 0);
	CHECK_EQ(hdr()->tail, 0);
	CHECK_EQ(hdr()->dropped, 0);
	CHECK_EQ(r.capacity, hdr()->capacity);
}

TEST(mon_ring_records_cross_frames_and_keep_their_sequence)
{
	memset(mem, 0, sizeof(mem));
	struct mon_ring r;
	mon_ring_init(&r, frames, 4, page);
	for (u64 i = 0; i < r.capacity; i++) {
		struct slat_event e = ev(0x100000 + i * 8);
		CHECK(mon_ring_put(&r, &e));
	}
	CHECK_EQ(hdr()->head, r.capacity);
	for (u64 i = 0; i < r.capacity; i++) {
		struct slat_event e = record(i);
		CHECK_EQ(e.seq, i);
		CHECK_EQ(e.gpa, 0x100000 + i * 8);
		CHECK_EQ(e.rip, e.gpa + 1);
		CHECK_EQ(e.monitor, 7);
	}
	/* Nothing was written past the last record: the rest of the last frame is untouched. */
	u64 end = 64 + r.capacity * sizeof(struct slat_event);
	for (u64 off = end; off < 4 * 4096; off++)
		CHECK_EQ(page(frames[off / 4096])[off % 4096], 0);
}

TEST(mon_ring_full_drops_and_counts_and_resumes_when_the_guest_consumes)
{
	struct mon_ring r;
	mon_ring_init(&r, frames, 1, page);
	u64 cap = r.capacity;
	CHECK_EQ(cap, (4096 - 64) / sizeof(struct slat_event));
	for (u64 i = 0; i < cap; i++) {
		struct slat_event e = ev(i);
		CHECK(mon_ring_put(&r, &e));
	}
	struct slat_event e = ev(999);
	CHECK(!mon_ring_put(&r, &e));
	CHECK(!mon_ring_put(&r, &e));
	CHECK_EQ(hdr()->dropped, 2);
	CHECK_EQ(hdr()->head, cap);
	/* The guest consumes three: three more fit, in the slots that wrapped around. */
	hdr()->tail = 3;
	for (int i = 0; i < 3; i++) {
		struct slat_event f = ev(0x5000 + i);
		CHECK(mon_ring_put(&r, &f));
		CHECK_EQ(record((u64)i).gpa, 0x5000 + i);
		CHECK_EQ(record((u64)i).seq, cap + i); /* dropped records took no sequence numbers */
	}
	CHECK(!mon_ring_put(&r, &e));
	CHECK_EQ(hdr()->dropped, 3);
}

TEST(mon_ring_a_corrupt_header_only_drops_records)
{
	struct mon_ring r;
	mon_ring_init(&r, frames, 2, page);
	struct slat_event e = ev(1);
	CHECK(mon_ring_put(&r, &e));
	/* The guest scribbles over head and capacity and puts tail ahead of head. */
	hdr()->head = 12345;
	hdr()->capacity = ~0ULL;
	hdr()->tail = 50;
	CHECK(!mon_ring_put(&r, &e));
	CHECK_EQ(r.head, 1);
	CHECK_EQ(r.dropped, 1);
	/* A sane tail again: slatvisor's own head decides where the record goes. */
	hdr()->tail = 1;
	CHECK(mon_ring_put(&r, &e));
	CHECK_EQ(hdr()->head, 2);
	CHECK_EQ(record(1).seq, 1);
}

TEST(mon_ring_without_a_ring_writes_nothing)
{
	struct mon_ring r;
	memset(&r, 0, sizeof(r));
	struct slat_event e = ev(1);
	CHECK(!mon_ring_put(&r, &e));
}
