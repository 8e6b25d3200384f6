/* multiboot2.c: walk the Multiboot2 information tags, trusting no length the loader gave. */
#include "multiboot2.h"
#include "kstring.h"

const char *mb2_mem_type_name(u32 type)
{
	switch (type) {
	case MB2_MEM_AVAILABLE:
		return "available";
	case MB2_MEM_RESERVED:
		return "reserved";
	case MB2_MEM_ACPI_RECLAIMABLE:
		return "ACPI data";
	case MB2_MEM_NVS:
		return "ACPI NVS";
	case MB2_MEM_BAD:
		return "bad";
	default:
		return "unknown";
	}
}

/* A tag's string must end inside the tag; anything else is treated as empty. */
static const char *tag_string(const char *s, size_t room)
{
	for (size_t i = 0; i < room; i++)
		if (s[i] == '\0')
			return s;
	return "";
}

static status_t parse_mmap(const struct mb2_tag *tag, struct boot_info *bi)
{
	const struct mb2_tag_mmap *m = (const void *)tag;
	if (tag->size < sizeof(*m) || m->entry_size < sizeof(struct mb2_mmap_entry)) {
		bi->error = "memory map tag has a bad entry size";
		return ST_INVALID;
	}
	const u8 *p = (const u8 *)m + sizeof(*m);
	const u8 *end = (const u8 *)tag + tag->size;
	for (; p + m->entry_size <= end; p += m->entry_size) {
		const struct mb2_mmap_entry *e = (const void *)p;
		if (e->length == 0)
			continue;
		if (bi->nmmap == MB2_MAX_MMAP) {
			bi->mmap_dropped++;
			continue;
		}
		bi->mmap[bi->nmmap++] = (struct mem_region){ e->base, e->length, e->type };
	}
	return ST_OK;
}

status_t mb2_parse(const void *mbi, size_t readable, struct boot_info *bi)
{
	memset(bi, 0, sizeof(*bi));
	bi->cmdline = "";
	bi->loader_name = "";

	if (!mbi || readable < sizeof(struct mb2_info_header) || ((uintptr_t)mbi & 7)) {
		bi->error = "boot information is missing or misaligned";
		return ST_INVALID;
	}
	const struct mb2_info_header *h = mbi;
	bi->base = (u64)(uintptr_t)mbi;
	bi->total_size = h->total_size;
	if (h->total_size < sizeof(*h) + sizeof(struct mb2_tag) || h->total_size > readable ||
	    h->total_size > MB2_MAX_INFO_SIZE) {
		bi->error = "boot information has an impossible total size";
		return ST_INVALID;
	}

	const u8 *base = mbi;
	size_t off = sizeof(*h);
	while (off + sizeof(struct mb2_tag) <= h->total_size) {
		const struct mb2_tag *tag = (const void *)(base + off);
		if (tag->size < sizeof(*tag) || tag->size > h->total_size - off) {
			bi->error = "a boot information tag overruns the structure";
			return ST_INVALID;
		}
		size_t room = tag->size - sizeof(*tag);
		const char *payload = (const char *)tag + sizeof(*tag);

		switch (tag->type) {
		case MB2_TAG_END:
			return ST_OK;
		case MB2_TAG_CMDLINE:
			bi->cmdline = tag_string(payload, room);
			break;
		case MB2_TAG_LOADER_NAME:
			bi->loader_name = tag_string(payload, room);
			break;
		case MB2_TAG_MODULE: {
			const struct mb2_tag_module *m = (const void *)tag;
			if (tag->size < sizeof(*m)) {
				bi->error = "module tag is too short";
				return ST_INVALID;
			}
			if (bi->nmodules == MB2_MAX_MODULES) {
				bi->modules_dropped++;
				break;
			}
			struct boot_module *bm = &bi->modules[bi->nmodules++];
			bm->start = m->mod_start;
			/* A module whose end precedes its start is treated as empty. */
			bm->end = m->mod_end >= m->mod_start ? m->mod_end : m->mod_start;
			bm->string = tag_string(m->string, tag->size - sizeof(*m));
			break;
		}
		case MB2_TAG_MMAP: {
			status_t st = parse_mmap(tag, bi);
			if (st != ST_OK)
				return st;
			break;
		}
		case MB2_TAG_ACPI_OLD:
		case MB2_TAG_ACPI_NEW:
			/* Prefer the 2.0 copy: it carries the XSDT address. */
			if (!bi->rsdp || tag->type == MB2_TAG_ACPI_NEW) {
				bi->rsdp = payload;
				bi->rsdp_len = (u32)room;
			}
			break;
		case MB2_TAG_EFI_BS:
			bi->efi_boot_services = true;
			break;
		default:
			break;
		}
		off += ALIGN_UP(tag->size, 8);
	}
	bi->error = "boot information has no end tag";
	return ST_INVALID;
}
