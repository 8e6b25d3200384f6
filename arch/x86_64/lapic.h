/* lapic.h: the local APIC in xAPIC (MMIO) or x2APIC (MSR) mode, and inter-processor interrupts. */
#ifndef SLAT_LAPIC_H
#define SLAT_LAPIC_H

#include "../../kernel/types.h"

/* Register offsets in the xAPIC page (SDM Vol. 3A, table 11-1); x2APIC MSR = 0x800 + off/16. */
#define LAPIC_ID 0x020
#define LAPIC_VERSION 0x030
#define LAPIC_TPR 0x080
#define LAPIC_EOI 0x0B0
#define LAPIC_SVR 0x0F0
#define LAPIC_ISR 0x100 /* eight 32-bit registers, 0x10 apart */
#define LAPIC_ESR 0x280
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310
#define ICR_DELIVERY_MODE(v) (((v) >> 8) & 7)
#define ICR_SHORTHAND(v) (((v) >> 18) & 3)
#define ICR_DEST_XAPIC(hi) ((hi) >> 24)
#define X2APIC_MSR_BASE 0x800

#define SVR_APIC_ENABLE BIT(8)

/* Interrupt command register (SDM Vol. 3A, 11.6.1). */
#define ICR_DELIVERY_FIXED (0u << 8)
#define ICR_DELIVERY_NMI (4u << 8)
#define ICR_DELIVERY_INIT (5u << 8)
#define ICR_DELIVERY_STARTUP (6u << 8)
#define ICR_DELIVERY_PENDING BIT(12) /* xAPIC only */
#define ICR_LEVEL_ASSERT BIT(14)
#define ICR_TRIGGER_LEVEL BIT(15)
#define ICR_DEST_SELF (1u << 18)
#define ICR_DEST_ALL_BUT_SELF (3u << 18)

/* Index order matches the apic= option's choices. */
enum apic_mode_choice { APIC_AUTO, APIC_XAPIC, APIC_X2APIC };

/* Choose the mode once on the boot CPU; every CPU then enables the same mode. */
void lapic_setup(enum apic_mode_choice choice);
void lapic_enable_this_cpu(void);
bool lapic_ready(void);
bool lapic_is_x2apic(void);
u32 lapic_id(void);
/* Is @vector marked in service (ISR, SDM Vol. 3A 11.8.4)? */
bool lapic_in_service(u8 vector);
void lapic_eoi(void);
/* Send an IPI; returns false if the xAPIC never reported delivery. */
bool lapic_send_ipi(u32 dest_apic_id, u32 icr_lo);
bool lapic_send_nmi_others(void);
/* The xAPIC register page, for replaying a guest's write to it (xAPIC mode only). */
u64 lapic_mmio_base(void);
u32 lapic_mmio_read(u32 off);
void lapic_mmio_write(u32 off, u32 v);

#endif
