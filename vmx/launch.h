/* launch.h: start the guest once the hypervisor has booted. */
#ifndef SLAT_LAUNCH_H
#define SLAT_LAUNCH_H

#include "../arch/x86_64/acpi.h"
#include "../kernel/multiboot2.h"

/* Check VT-x, build the EPT, load the Linux guest and run it on every CPU. Never returns. */
NORETURN void hv_launch(const struct boot_info *bi, const struct acpi_info *acpi);

/*
 * The guest must never write into slatvisor: check that the code and
 * read-only data still match the checksum taken before launch, and say so.
 */
void launch_check_image(void);

#endif
