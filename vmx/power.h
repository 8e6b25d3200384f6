/* power.h: the guest's power-off and reset requests, trapped so statistics print first. */
#ifndef SLAT_POWER_H
#define SLAT_POWER_H

#include "exit.h"
#include "../arch/x86_64/acpi.h"

/* Remember the ACPI registers and trap the ports the guest uses to power off or reset. */
void power_init(const struct acpi_info *acpi);

/* After the guest stopped: power off, reset or stay halted, as asked. */
void power_finish(enum stop_then then);

/* A trapped OUT or IN (exit_io.c decodes it). Returns the action for the exit. */
enum exit_action power_port_write(struct vcpu *v, u16 port, unsigned size, u32 value);

#endif
