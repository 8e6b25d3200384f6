/* shadow.h: shadow paging on VT-x: the engine's memory, a vCPU's paging phases, TLB shootdowns. */
#ifndef SLAT_VMX_SHADOW_H
#define SLAT_VMX_SHADOW_H

#include "exit.h"

/*
 * Set up the engine for guest-physical [0, top): the pool of `shadow_pages=`
 * pages and the per-frame metadata. Fails (and says why) when the
 * hypervisor pool (`hvmem=`) cannot hold them.
 */
status_t shadow_setup(u64 top);

/*
 * Guest paging is on: run this vCPU on shadow tables for its CR3 (turning
 * off EPT and unrestricted guest if a paging-off phase used them).
 * Returns false (after stopping the guest) if no root can be built.
 */
bool shadow_paging_on(struct vcpu *v);
/* Guest paging is off (unrestricted guest only): back to the EPT identity map. */
void shadow_paging_off(struct vcpu *v);

/* The guest reset @v (INIT): off shadow tables, as after INIT paging is off. */
void shadow_vcpu_reset(struct vcpu *v);
/* Make the frame at @gpa read-only in every shadow leaf, every other vCPU's TLB included. */
void shadow_trap_page(struct vcpu *v, u64 gpa);

/* The guest's CR3, whatever runs the hardware. */
u64 vcpu_guest_cr3(struct vcpu *v);
/* MOV to CR3 (the exit handler checked the value). False: no root could be built; the guest is stopped. */
bool shadow_load_cr3(struct vcpu *v, u64 val);
/* The guest changed CR4 bits that rule translations (PGE, PCIDE, SMEP, SMAP) or EFER.NXE/CR0.WP. */
void shadow_paging_rules_changed(struct vcpu *v, bool flush);

/* An exit of a vCPU whose CR3-target list is filled: bring its root up to date from the VMCS. */
void shadow_follow_hw_cr3(struct vcpu *v);
/* What a MOV from CR3 gives the guest. */
u64 shadow_read_cr3(struct vcpu *v);

/* A CR-access exit handled before the generic exit path, if it is a simple CR3 access. */
bool shadow_fast_cr_exit(struct vcpu *v);

enum exit_action handle_page_fault(struct vcpu *v);
/* A flush point for this vCPU, then the exiting instruction is done (INVLPG, INVPCID). */
enum exit_action shadow_guest_tlb_flush(struct vcpu *v);
/* shadow_tlb.c */
enum exit_action handle_invlpg(struct vcpu *v, const struct exit_info *x);
enum exit_action handle_invpcid(struct vcpu *v, const struct exit_info *x);

/*
 * An NMI reached this vCPU (by exit, or in root mode). True if it was a
 * shootdown request from another vCPU rather than the guest's NMI.
 */
bool shadow_nmi_is_kick(struct vcpu *v, bool in_nmi);
/*
 * Shootdowns, in every paging mode. vcpu_shootdown: every other running vCPU
 * leaves the guest and drops its TLB (with an EPT, its EPT translations too)
 * before its next entry; returns once each has said so. A CPU that spins for
 * a lock another may hold while shooting down answers with
 * vcpu_ack_shootdowns (@v may be NULL: not a vCPU).
 */
void vcpu_shootdown(void);
void vcpu_ack_shootdowns(struct vcpu *v);

/* Just before VM entry: flush what this CPU's TLB owes, load CR2 for an injected #PF. */
void shadow_before_entry(struct vcpu *v);

/* Print the engine's statistics with the exit statistics. */
void shadow_print_stats(void);

#endif
