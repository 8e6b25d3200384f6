/*
 * open_bus.h: guest-physical addresses where nothing is: from the top of what slatvisor
 * maps for the guest (4 GiB or the end of the memory map, whichever is higher, in whole
 * GiB) up to 2^MAXPHYADDR. On a bare machine no device answers there: a read gives all
 * ones and a write goes nowhere. The guest sees the same, under EPT and under shadow
 * paging: one page of 0xFF bytes mapped read-only in every such page, and each write
 * decoded and dropped.
 */
#ifndef SLAT_OPEN_BUS_H
#define SLAT_OPEN_BUS_H

#include "exit.h"

/* The page of all ones, allocated on the first call; 0 if there was no memory for it. */
u64 open_bus_page(void);

/* A guest write to @gpa where nothing is: skip the store (said once), or stop the guest if it cannot be decoded. */
enum exit_action open_bus_write(struct vcpu *v, u64 gpa);

#endif
