/* linux_guest.h: prepare a Linux guest from the Multiboot2 modules (kernel, initramfs). */
#ifndef SLAT_LINUX_GUEST_H
#define SLAT_LINUX_GUEST_H

#include "multiboot2.h"
#include "../mm/pmm.h"
#include "../vmx/vmx.h"

/*
 * Check the bzImage in module 0, copy its kernel to where it will run, and
 * build its zero page, command line, e820 (with @hidden turned reserved), GDT
 * and identity page tables in guest memory below 1 MiB. On failure the reason is logged.
 */
status_t linux_prepare(const struct boot_info *bi, const struct phys_range *hidden,
		       unsigned nhidden, struct guest_entry *out);

#endif
