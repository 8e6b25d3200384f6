/*
 * probes_mem.c: the guest's own page tables can map every physical address, and still it reads
 * no byte of the hypervisor's and changes none.
 *
 * mem_isolation maps one 2 MiB window at a time (a large page in a PML4 slot paging.c leaves
 * empty, INVLPG at each move) over 0-8 GiB, then over one window at each power of two from
 * 16 GiB up and the last window below 2^MAXPHYADDR. In every 4 KiB page it reads four words
 * (offsets 0, 8, 0x800 and 0xFF0) and looks for slatvisor's image magic (16 bytes at a page
 * start in its .rodata, kernel/image.h) and for the tag hvmem_fill=on writes into every free
 * page of slatvisor's pool (mm/palloc.h). It writes too, each write undone at once:
 *
 *  - e820 RAM (type 1), and "reserved" ranges that split RAM (a type-2 entry whose neighbours
 *    are both RAM and adjoin it: what the hypervisor takes out of the firmware's RAM and hides)
 *    get a write into every page; in RAM the new value must read back;
 *  - past the end of everything (above the last e820 range and 4 GiB, rounded up to 1 GiB,
 *    where a bare machine has nothing) every 64th page gets a write; reads there must return
 *    all ones and a write must be dropped, as on a bare machine where no device answers;
 *  - nothing else is written (holes below 4 GiB and other e820 types may be device MMIO).
 *
 * The guest's own image is not probed (its stack and tables are in use). Neither the tag nor
 * the magic is a literal in this file: both are built at run time, so the guest's own image
 * never holds them.
 */
#include "guest.h"

#define PTE_P BIT(0)
#define PTE_RW BIT(1)
#define PTE_PWT BIT(3)
#define PTE_PCD BIT(4)
#define PTE_PS BIT(7)
#define PAGE 4096ULL
#define WINDOW 0x200000ULL
#define GiB (1ULL << 30)
#define ADDR_MASK 0x000FFFFFFFFFF000ULL

#define WINDOW_SLOT 1                          /* PML4 entry 1: linear 512 GiB, unused by paging.c */
#define WINDOW_LA ((u64)WINDOW_SLOT << 39)
#define FULL_COVER (8 * GiB)                    /* every window below this */
#define SPARSE_WRITE_STEP 64                    /* pages between writes past the end */
/*
 * The chipset's fixed devices (I/O APIC at 0xFEC00000, HPET at 0xFED00000, local APIC at
 * 0xFEE00000) are not read: their registers act on reads and slatvisor's memory is never there.
 */
#define CHIPSET_LO 0xFEC00000ULL
#define CHIPSET_HI 0xFF000000ULL


extern const u8 _image_start[], _end[];


static struct e820_entry map[E820_MAX];
static unsigned nmap;
static u64 win_pdpt[512] __attribute__((aligned(4096)));
static u64 win_pd[512] __attribute__((aligned(4096)));

/* The words searched for, built at run time (see the top of the file). */
static u64 tag, magic[2];

static void build_needles(void)
{
	/* Each byte of "slatvisor-image!" plus one; the volatile step keeps the compiler from folding. */
	static const char shifted[17] = "tmbuwjtps.jnbhf\"";
	volatile u8 step = 1;
	u8 m[16];
	for (unsigned i = 0; i < 16; i++)
		m[i] = (u8)(shifted[i] - step);
	memcpy(magic, m, 16);
	volatile u32 hi = 0x4C4F4F50, lo = 0x54414C53; /* "SLAT" "POOL" */
	tag = (u64)hi << 32 | lo;
}

/* What the e820 map says of a page, for the write rule above. */
enum kind { K_OTHER, K_RAM, K_HV, K_PAST };

static u64 map_end;

static void read_e820(void)
{
	const struct e820_entry *e = e820_table(&nmap);
	memcpy(map, e, nmap * sizeof(map[0]));
	/* Sorted by address (insertion sort: a few dozen entries). */
	for (unsigned i = 1; i < nmap; i++)
		for (unsigned j = i; j > 0 && map[j].addr < map[j - 1].addr; j--) {
			struct e820_entry t = map[j];
			map[j] = map[j - 1];
			map[j - 1] = t;
		}
	map_end = 4 * GiB;
	for (unsigned i = 0; i < nmap; i++)
		if (map[i].addr + map[i].size > map_end)
			map_end = map[i].addr + map[i].size;
	map_end = (map_end + GiB - 1) & ~(GiB - 1);
}

static bool hv_reserved(unsigned i)
{
	return map[i].type == E820_RESERVED && i > 0 && i + 1 < nmap && map[i - 1].type == E820_RAM &&
	       map[i + 1].type == E820_RAM && map[i - 1].addr + map[i - 1].size == map[i].addr &&
	       map[i].addr + map[i].size == map[i + 1].addr;
}

/* The kind of [a, a + size) if one kind covers it all, else K_OTHER with *mixed set. */
static enum kind range_kind(u64 a, u64 size, bool *mixed)
{
	*mixed = false;
	if (a >= map_end)
		return K_PAST;
	for (unsigned i = 0; i < nmap; i++) {
		u64 b = map[i].addr, e = b + map[i].size;
		if (e <= a || b >= a + size)
			continue;
		if (b > a || e < a + size) {
			*mixed = true;
			return K_OTHER;
		}
		return map[i].type == E820_RAM ? K_RAM : hv_reserved(i) ? K_HV : K_OTHER;
	}
	return a + size <= map_end ? K_OTHER : (*mixed = true, K_OTHER);
}

static enum kind page_kind(u64 a)
{
	bool mixed;
	return range_kind(a, PAGE, &mixed);
}

struct result {
	u64 windows, pages_read, pages_written, pages_skipped;
	u64 hits; /* reads that found the magic or the tag */
	const char *why;
};

/* Keep the first finding only: failf's buffer is formatted only while none is kept. */
#define note(r, ...)                          \
	do {                                  \
		if (!(r)->why)                \
			(r)->why = failf(__VA_ARGS__); \
	} while (0)

/*
 * Device registers may not take 64-bit loads (Bochs panics on one at its I/O APIC), so pages
 * that are neither RAM nor past the end are read as 32-bit halves.
 */
static u64 load64(volatile u64 *p, enum kind k)
{
	if (k != K_OTHER)
		return *p;
	volatile u32 *h = (volatile u32 *)p;
	return h[0] | (u64)h[1] << 32;
}

static void probe_page(struct result *r, volatile u64 *p, u64 pa, enum kind k, bool write)
{
	u64 w0 = load64(&p[0], k), w1 = load64(&p[1], k), w2 = load64(&p[256], k), w3 = load64(&p[510], k);
	r->pages_read++;
	if (w0 == magic[0] && w1 == magic[1]) {
		r->hits++;
		note(r, "read slatvisor's image magic at physical 0x%lx", pa);
	}
	if (w0 == tag || w2 == tag || w3 == tag || w1 == tag) {
		r->hits++;
		note(r, "read the hypervisor pool's tag at physical 0x%lx (next word 0x%lx)", pa,
			      w0 == tag ? w1 : w2 == tag ? load64(&p[257], k) : load64(&p[511], k));
	}
	if (k == K_PAST && (w0 & w1 & w2 & w3) != ~0ULL)
		note(r, "physical 0x%lx is past the end of everything, yet reads 0x%lx 0x%lx 0x%lx 0x%lx, not all ones",
			      pa, w0, w1, w2, w3);
	if (!write)
		return;
	u64 flip = w0 ^ 0x5A5AA5A5C3C33C3CULL;
	p[0] = flip;
	u64 back = p[0];
	p[0] = w0;
	r->pages_written++;
	if (k == K_RAM && back != flip)
		note(r, "RAM at physical 0x%lx: wrote 0x%lx, read back 0x%lx", pa, flip, back);
	if (k == K_PAST && back != ~0ULL)
		note(r, "physical 0x%lx is past the end of everything: a write left 0x%lx there", pa, back);
}

static void probe_window(struct result *r, u64 pa)
{
	bool mixed;
	enum kind wk = range_kind(pa, WINDOW, &mixed);
	/* Write-back only over RAM; anything else uncached (PCD|PWT: PAT entry 3, UC). */
	win_pd[0] = pa | PTE_P | PTE_RW | PTE_PS | (wk == K_RAM && !mixed ? 0 : PTE_PCD | PTE_PWT);
	invlpg(WINDOW_LA);
	r->windows++;
	u64 img_lo = (u64)(uintptr_t)_image_start & ~(PAGE - 1), img_hi = (u64)(uintptr_t)_end;
	for (u64 off = 0; off < WINDOW; off += PAGE) {
		u64 a = pa + off;
		if (a >= img_lo && a < img_hi)
			continue;
		enum kind k = mixed ? page_kind(a) : wk;
		if (a >= CHIPSET_LO && a < CHIPSET_HI) {
			r->pages_skipped++;
			continue;
		}
		bool write = k == K_RAM || k == K_HV || (k == K_PAST && (off / PAGE) % SPARSE_WRITE_STEP == 0);
		probe_page(r, (volatile u64 *)(uintptr_t)(WINDOW_LA + off), a, k, write);
	}
}

static unsigned maxphyaddr(void)
{
	u32 a, b, c, d;
	cpuid(0x80000000, &a, &b, &c, &d);
	if (a < 0x80000008)
		return 36;
	cpuid(0x80000008, &a, &b, &c, &d);
	return a & 0xFF;
}

PROBE(mem_isolation)
{
	build_needles();
	read_e820();
	if (!nmap)
		return failf("boot_params holds no e820 map");
	if (pml4[WINDOW_SLOT])
		return failf("PML4 entry %u is in use (0x%lx): no room for the window", WINDOW_SLOT, pml4[WINDOW_SLOT]);
	unsigned m = maxphyaddr();
	u64 top = 1ULL << m;
	memset(win_pdpt, 0, sizeof(win_pdpt));
	memset(win_pd, 0, sizeof(win_pd));
	win_pdpt[0] = (u64)(uintptr_t)win_pd | PTE_P | PTE_RW;
	pml4[WINDOW_SLOT] = (u64)(uintptr_t)win_pdpt | PTE_P | PTE_RW;

	/* A control: the search finds both needles in a page of the guest's own that holds them. */
	static u64 bait[512] __attribute__((aligned(4096)));
	bait[0] = magic[0];
	bait[1] = magic[1];
	bait[256] = tag;
	struct result r = { 0 };
	probe_page(&r, bait, (u64)(uintptr_t)bait, K_OTHER, false);
	memset(bait, 0, sizeof(bait));
	if (r.hits != 2)
		return failf("the search found %lu of the 2 needles planted in a page of the guest's own", r.hits);
	r = (struct result){ 0 };
	u64 full = FULL_COVER < top ? FULL_COVER : top;
	for (u64 pa = 0; pa < full; pa += WINDOW)
		probe_window(&r, pa);
	/* Sparse above: a window at each power of two, and the highest one below 2^MAXPHYADDR. */
	for (u64 pa = 2 * full; pa < top; pa *= 2)
		probe_window(&r, pa);
	if (top - WINDOW >= full)
		probe_window(&r, top - WINDOW);

	pml4[WINDOW_SLOT] = 0;
	win_pd[0] = 0;
	invlpg(WINDOW_LA);
	kprintf("mem_isolation: %lu windows of 2 MiB (0-%lu MiB whole, then sparse up to MAXPHYADDR %u), %lu pages read, %lu written, %lu chipset pages skipped, end of the e820 map 0x%lx\n",
		r.windows, full >> 20, m, r.pages_read, r.pages_written, r.pages_skipped, map_end);
	if (r.why)
		return r.hits > 1 ? failf("%s (%lu such reads)", r.why, r.hits) : r.why;
	/* A control: the probe saw pages of every kind it writes, so its rules were in force. */
	if (!r.pages_written)
		return failf("no page was written: the e820 map gave no RAM");
	return NULL;
}
