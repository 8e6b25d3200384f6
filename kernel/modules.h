/* modules.h: the Multiboot2 modules, read the Xen way: guest kernel first, initramfs second. */
#ifndef SLAT_MODULES_H
#define SLAT_MODULES_H

#include "multiboot2.h"

enum module_role { MODULE_GUEST_KERNEL = 0, MODULE_INITRAMFS = 1 };

const char *module_role_name(unsigned index);
/* Log every module and say plainly what is missing or empty. */
void modules_report(const struct boot_info *bi);

#endif
