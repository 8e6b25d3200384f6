/* apic_start.h: the guest starts its other CPUs through its local APIC; slatvisor plays INIT and SIPI. */
#ifndef SLAT_APIC_START_H
#define SLAT_APIC_START_H

#include "exit.h"

/*
 * Until the guest has started every vCPU, its xAPIC page is read-only in the
 * EPT. Each write exits; INIT and STARTUP IPIs to a waiting vCPU are emulated
 * (the vCPU waits in slatvisor, not in the wait-for-SIPI activity state), and
 * every other write is replayed to the real local APIC. When the last vCPU has
 * started, the page becomes writable again and the guest owns its APIC outright.
 */
status_t apic_start_init(unsigned waiting_vcpus);

/* Is @gpa in the trapped APIC page? */
bool apic_start_owns(u64 gpa);

/* A guest write to the trapped page (from the EPT-violation handler). */
enum exit_action apic_start_write(struct vcpu *v, u64 gpa);

/*
 * A guest that switched its APIC to x2APIC sends INIT and SIPI through the
 * ICR MSR (0x830), which is trapped while vCPUs wait. Returns false if the
 * write is not for slatvisor to handle (the caller performs it).
 */
bool apic_start_x2apic_icr(struct vcpu *v, u64 value);

/* On an AP: wait in slatvisor for the guest's SIPI, then run the vCPU from there. */
void apic_start_wait_and_launch(struct vcpu *v);

/*
 * A running vCPU halted with interrupts off (the guest took it offline):
 * trap the ICR again and wait in slatvisor for the guest's INIT-SIPI, then
 * start it as at boot. With @nmi_resumes (its state is in the VMCS), an NMI
 * for it instead resumes it after its HLT.
 */
enum exit_action apic_start_offline(struct vcpu *v, bool nmi_resumes);

#endif
