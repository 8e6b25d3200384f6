/* modules.c: list the modules the loader gave and check them against the Xen convention. */
#include "modules.h"
#include "log.h"

const char *module_role_name(unsigned index)
{
	switch (index) {
	case MODULE_GUEST_KERNEL:
		return "guest kernel";
	case MODULE_INITRAMFS:
		return "initramfs";
	default:
		return "unused";
	}
}

void modules_report(const struct boot_info *bi)
{
	if (bi->nmodules == 0) {
		pr_warn("modules: none given, so there is no guest kernel to launch; add "
			"'module2 /boot/vmlinuz ARGS' and 'module2 /boot/initrd.img' after the "
			"multiboot2 line in grub.cfg");
		return;
	}
	for (unsigned i = 0; i < bi->nmodules; i++) {
		const struct boot_module *m = &bi->modules[i];
		pr_info("modules: #%u %s at 0x%llx-0x%llx, %llu bytes, string \"%s\"", i,
			module_role_name(i), (unsigned long long)m->start, (unsigned long long)m->end,
			(unsigned long long)(m->end - m->start), m->string);
		if (m->end == m->start)
			pr_warn("modules: #%u (%s) is empty", i, module_role_name(i));
	}
	if (bi->nmodules == 1)
		pr_warn("modules: no initramfs module: the guest kernel will start without one");
	if (bi->nmodules > 2)
		pr_warn("modules: %u modules given; only the first two (kernel, initramfs) are used",
			bi->nmodules);
	if (bi->modules_dropped)
		pr_warn("modules: %u more modules beyond the %u tracked were ignored",
			bi->modules_dropped, MB2_MAX_MODULES);
}
