/* image.h: slatvisor's own image as a user identifies it: its build id and its read-only checksum. */
#ifndef SLAT_IMAGE_H
#define SLAT_IMAGE_H

#include "types.h"

/*
 * A rotate-and-xor over every 8 bytes from the image's start to the end of .rodata: all the
 * image maps read-only (.text, .rodata, the build-id note). Those pages are read-only from
 * paging_init on, so the value is a property of the ELF: the same whatever the CPU, the paging
 * mode or the guest.
 */
u64 image_checksum(void);

/* 16 bytes at a page boundary in .rodata that a guest may search for (tests/guest/probes_mem.c). */
#define IMAGE_MAGIC "slatvisor-image!"
#define IMAGE_MAGIC_LEN 16
extern const char image_magic[IMAGE_MAGIC_LEN];
/* The linker's build id (ld --build-id=sha1) as hex into @buf (at least 41 bytes), or "none". */
void image_build_id(char *buf, size_t size);

/* Print the build id and the checksum once the image is read-only (paging_init), and keep it. */
void image_report(void);
/* The checksum image_report() printed. */
u64 image_boot_checksum(void);

#endif
