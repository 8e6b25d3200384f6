/* memprobe.c: read and write physical memory through /dev/mem, to check what the guest can reach. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * usage: memprobe BASE SIZE
 * Reads [BASE, BASE+SIZE) and looks for what slatvisor's image starts with
 * (its Multiboot2 header magic) and for its name; then writes a pattern over
 * the first page. Under slatvisor, BASE = 0x200000 is the hypervisor's own
 * image: the guest must see none of it, and its writes must land elsewhere.
 */
int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: memprobe BASE SIZE\n");
		return 2;
	}
	off_t base = (off_t)strtoull(argv[1], NULL, 0);
	size_t size = (size_t)strtoull(argv[2], NULL, 0);
	int fd = open("/dev/mem", O_RDWR | O_SYNC);
	if (fd < 0) {
		printf("memprobe: FAIL cannot open /dev/mem\n");
		return 1;
	}
	unsigned char *buf = malloc(size);
	ssize_t got = buf ? pread(fd, buf, size, base) : -1;
	if (got != (ssize_t)size) {
		printf("memprobe: FAIL read of 0x%zx bytes at 0x%llx returned %zd\n", size,
		       (unsigned long long)base, got);
		return 1;
	}
	static const unsigned char mb2_magic[4] = { 0xd6, 0x50, 0x52, 0xe8 };
	size_t nonzero = 0;
	for (size_t i = 0; i < size; i++)
		nonzero += buf[i] != 0;
	int magic = memmem(buf, size, mb2_magic, 4) != NULL;
	int name = memmem(buf, size, "slatvisor", 9) != NULL;
	printf("memprobe: read 0x%zx bytes at 0x%llx: %zu non-zero, hypervisor header %s, name %s\n",
	       size, (unsigned long long)base, nonzero, magic ? "FOUND" : "absent",
	       name ? "FOUND" : "absent");

	memset(buf, 0xa5, 4096);
	if (pwrite(fd, buf, 4096, base) != 4096) {
		printf("memprobe: FAIL write at 0x%llx\n", (unsigned long long)base);
		return 1;
	}
	printf("memprobe: wrote 4096 bytes at 0x%llx\n", (unsigned long long)base);
	if (magic || name) {
		printf("memprobe: FAIL hypervisor data is visible to the guest\n");
		return 1;
	}
	printf("memprobe: ok\n");
	return 0;
}
