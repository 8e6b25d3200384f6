/*
 * event.h: the events VT-x delivers and reports (interruption information, SDM Vol. 3C
 * 25.8.3 and 28.2.4), and how an exception combines with the event whose delivery it
 * interrupted (SDM Vol. 3A, "Interrupt 8-Double Fault Exception", Table 6-5).
 */
#ifndef SLAT_EVENT_H
#define SLAT_EVENT_H

#include "../kernel/types.h"

/* The VM-entry interruption information and the exit's IDT-vectoring information. */
#define INTR_INFO_VALID BIT(31)
#define INTR_INFO_DELIVER_ERROR BIT(11)
#define INTR_INFO_NMI_UNBLOCKED_BY_IRET BIT(12) /* exit interruption information only */
#define EPT_QUAL_NMI_UNBLOCKED_BY_IRET BIT(12)  /* the same, in an EPT violation's qualification */
#define INTR_TYPE_SHIFT 8
#define INTR_TYPE_EXTERNAL 0
#define INTR_TYPE_NMI 2
#define INTR_TYPE_HW_EXCEPTION 3
#define INTR_TYPE_SW_INTERRUPT 4
#define INTR_TYPE_PRIV_SW_EXCEPTION 5
#define INTR_TYPE_SW_EXCEPTION 6
#define INTR_INFO_VECTOR(i) ((i) & 0xFF)
#define INTR_INFO_TYPE(i) (((i) >> INTR_TYPE_SHIFT) & 7)

enum event_combination {
	EVENT_SERIAL,       /* deliver the new exception; the interrupted event is dropped */
	EVENT_DOUBLE_FAULT, /* deliver #DF (error code 0) instead */
	EVENT_SHUTDOWN,     /* a fault while a #DF was delivered: the guest triple-faults */
};

/*
 * What the CPU does when exception @vector arises while delivering the event @idt_info
 * describes (IDT-vectoring information; not valid: nothing was being delivered).
 */
enum event_combination event_combine(u32 idt_info, u8 vector);

#endif
