/* image.c: slatvisor's build id and the checksum of what its page tables keep read-only. */
#include "image.h"
#include "fmt.h"
#include "log.h"

extern u8 _kernel_start[], _readonly_end[], _build_id_note[], _build_id_note_end[];

u64 image_checksum(void)
{
	u64 sum = 0;
	for (const u64 *p = (const u64 *)_kernel_start; p < (const u64 *)_readonly_end; p++)
		sum = (sum << 1 | sum >> 63) ^ *p;
	return sum;
}

/* An ELF note (the System V gABI): namesz, descsz, type, the name padded to 4, the descriptor. */
struct elf_note {
	u32 namesz, descsz, type;
};
#define NT_GNU_BUILD_ID 3

void image_build_id(char *buf, size_t size)
{
	const struct elf_note *n = (const void *)_build_id_note;
	u64 avail = (u64)(_build_id_note_end - _build_id_note);
	if (avail < sizeof(*n) || n->type != NT_GNU_BUILD_ID || n->descsz == 0 ||
	    sizeof(*n) + ALIGN_UP((u64)n->namesz, 4) + n->descsz > avail) {
		fmt_snprintf(buf, size, "none");
		return;
	}
	const u8 *id = (const u8 *)(n + 1) + ALIGN_UP((u64)n->namesz, 4);
	size_t at = 0;
	buf[0] = '\0';
	for (u32 i = 0; i < n->descsz && at + 3 <= size; i++)
		at += (size_t)fmt_snprintf(buf + at, size - at, "%02x", id[i]);
}

/*
 * A fixed string at the start of a page of .rodata, inside the checksummed image: what an
 * isolation probe in a guest searches for (it reads the first words of every page it can map;
 * the build id it cannot know). The guest builds the same bytes at run time, so they do not
 * appear in its own image.
 */
__attribute__((used, aligned(PAGE_SIZE))) const char image_magic[IMAGE_MAGIC_LEN] = IMAGE_MAGIC;

static u64 boot_sum;

void image_report(void)
{
	char id[2 * 20 + 1];
	image_build_id(id, sizeof(id));
	boot_sum = image_checksum();
	pr_info("image: build id %s, checksum 0x%016llx over .text and .rodata (%llu KiB, read-only)", id,
		(unsigned long long)boot_sum, (unsigned long long)(_readonly_end - _kernel_start) / KiB);
}

u64 image_boot_checksum(void)
{
	return boot_sum;
}
