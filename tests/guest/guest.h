/* guest.h: what the test guest's files share. Freestanding: no libc, compiler headers only. */
#ifndef TEST_GUEST_H
#define TEST_GUEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;

#define BIT(n) (1ULL << (n))

/* Exception vectors (SDM Vol. 3A, Table 6-1). */
#define VEC_NMI 2
#define VEC_UD 6
#define VEC_DF 8
#define VEC_GP 13
#define VEC_PF 14

/* #PF error code bits (SDM Vol. 3A, 4.7). */
#define PF_ERR_P BIT(0)
#define PF_ERR_W BIT(1)
#define PF_ERR_RSVD BIT(3)

/* Canonical, and never mapped by paging.c (PML4 slot 128): a stack no push can use. */
#define UNMAPPED_ADDR 0x0000400000000000ULL

/* Control-register bits (SDM Vol. 3A, 2.5). */
#define CR0_PE BIT(0)
#define CR0_WP BIT(16)
#define CR0_PG BIT(31)
#define CR4_VMXE BIT(13)
#define CPUID1_ECX_VMX BIT(5)

/* Offsets into boot_params, the zero page (Linux Documentation/x86/zero-page.rst). */
#define BP_ACPI_RSDP_ADDR 0x070
#define BP_CMD_LINE_PTR 0x228
#define BP_EXT_CMD_LINE_PTR 0x0C8

static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outw(u16 port, u16 v) { __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outl(u16 port, u32 v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline u8 inb(u16 port)
{
	u8 v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline u16 inw(u16 port)
{
	u16 v;
	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline u32 inl(u16 port)
{
	u32 v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline u64 rdmsr(u32 msr)
{
	u32 lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return (u64)hi << 32 | lo;
}
static inline void wrmsr(u32 msr, u64 v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((u32)v), "d"((u32)(v >> 32)) : "memory");
}
static inline u64 read_cr2(void) { u64 v; __asm__ volatile("mov %%cr2, %0" : "=r"(v)); return v; }
static inline void invlpg(u64 a) { __asm__ volatile("invlpg (%0)" : : "r"(a) : "memory"); }
static inline u64 read_cr0(void) { u64 v; __asm__ volatile("mov %%cr0, %0" : "=r"(v)); return v; }
static inline u64 read_cr3(void) { u64 v; __asm__ volatile("mov %%cr3, %0" : "=r"(v)); return v; }
static inline u64 read_cr4(void) { u64 v; __asm__ volatile("mov %%cr4, %0" : "=r"(v)); return v; }
static inline void write_cr0(u64 v) { __asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory"); }
static inline void write_cr3(u64 v) { __asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory"); }
static inline void write_cr4(u64 v) { __asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory"); }
static inline void cpuid_count(u32 leaf, u32 sub, u32 *a, u32 *b, u32 *c, u32 *d)
{
	__asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(sub));
}
static inline void cpuid(u32 leaf, u32 *a, u32 *b, u32 *c, u32 *d) { cpuid_count(leaf, 0, a, b, c, d); }
static inline bool cpu_has_vmx(void)
{
	u32 a, b, c, d;
	cpuid(1, &a, &b, &c, &d);
	return c & CPUID1_ECX_VMX;
}

/* string.c */
void *memset(void *p, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

/* serial.c: COM1, polled. kprintf knows %s %c %d %u %x and the l modifier. */
void serial_init(void);
void kprintf(const char *fmt, ...);
int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

/* idt.c and isr.asm */
void idt_init(void);
void idt_set_ist(unsigned vec, unsigned ist);
/* "#GP" for 13 and so on; "an external interrupt" for 32-255. */
const char *vec_name(unsigned v);
/*
 * Interrupts (vectors 32-255) and NMIs are counted in irq_count[] instead of failing the run
 * while irq_counting is set (1); with 2, vectors 16-31 count as interrupts too. The handler
 * sends the local APIC an EOI for every counted vector but the NMI.
 */
extern volatile u32 irq_count[256];
extern volatile u8 irq_counting;
extern volatile u64 lapic_eoi_addr;

/* apic.c: the local APIC (xAPIC). lapic_send() returns false if the ICR stayed busy. */
#define ICR_FIXED 0
#define ICR_NMI (4U << 8)
#define ICR_INIT (5U << 8)
#define ICR_STARTUP (6U << 8)
#define ICR_LEVEL_ASSERT BIT(14)
#define ICR_SELF (1U << 18)
#define ESR_SEND_ILLEGAL_VECTOR BIT(5)
#define ESR_RECEIVE_ILLEGAL_VECTOR BIT(6)
bool lapic_init(void);
/* Mask every line of both 8259 PICs (OCW1). */
void pic_mask_all(void);
u8 lapic_id(void);
u32 lapic_read(u32 off);
void lapic_write(u32 off, u32 v);
bool lapic_send(u8 dest, u32 icr);
u32 lapic_esr(void);

/* e820.c: guest_boot_params is set by guest_main before anything else runs. */
extern const u8 *guest_boot_params;
#define E820_MAX 128
#define E820_RAM 1
#define E820_RESERVED 2
struct e820_entry {
	u64 addr, size;
	u32 type;
} __attribute__((packed));
const struct e820_entry *e820_table(unsigned *n); /* the map in boot_params, *n entries */
u64 e820_ram_page_below(u64 lo, u64 hi);
/*
 * The first page of a reserved range at or above @lo between two RAM ranges: above 1 MiB that is
 * slatvisor's own memory (below, the guest's boot data is reserved the same way). 0 if none.
 */
u64 e820_hidden_page(u64 lo);

/* tss.c: the TSS and the IST stack the double fault runs on. */
void tss_init(void);
void tss_drop_df_stack(void);
void tss_use_stack(unsigned vec, unsigned ist, u64 top); /* top 0: back to the current stack */
int fault_call(void (*fn)(u64), u64 arg);
extern u64 fault_vector, fault_error, fault_rip;
/*
 * Run fn(arg) and require exception @vec from it. NULL if so; otherwise a message naming
 * @what and what happened instead (no exception, or another one).
 */
const char *expect_fault(unsigned vec, const char *what, void (*fn)(u64), u64 arg);
/* Run fn(arg) and require that it raises no exception. */
const char *expect_no_fault(const char *what, void (*fn)(u64), u64 arg);
/* A failure message in a static buffer (one probe runs at a time). */
const char *failf(const char *fmt, ...);

/* paging.c: identity map of 0-4 GiB; one page of it read-only, for the CR0.WP probe. */
void paging_init(void);
/* PML4 slot @slot (1-511; slot 0 is the identity map) <- @entry, the TLB flushed. */
void paging_set_pml4(unsigned slot, u64 entry);
extern volatile u64 ro_page[512];
extern u64 pml4[512]; /* the guest's PML4: slot 0 the identity map, the rest free for probes */

/* acpi.c */
struct acpi_power {
	u16 pm1a_cnt; /* 0 when no FADT was found */
	u8 s5_type;
	u16 pm1a_evt;   /* PM1a event block (status, then enable), 0 if none */
	u16 reset_port; /* the FADT reset register when it is an I/O port, else 0 */
	u8 reset_value;
};
void acpi_init(const u8 *boot_params, struct acpi_power *out);
void acpi_power_off(const struct acpi_power *p);
extern struct acpi_power acpi;
struct acpi_cpus {
	unsigned n;      /* enabled processors in the MADT */
	u8 apic_id[32];
};
extern struct acpi_cpus cpus;

/*
 * The probes: NULL when the machine behaved as the SDM says, else what it did instead.
 * PROBE(name) defines one and registers it in the .probes section, so a new probe is a
 * function in a probes_*.c file and nothing else. They run in link order: file by file
 * (alphabetically), and in each file in the order written.
 */
typedef const char *(*probe_fn)(void);
struct probe {
	const char *name;
	probe_fn fn;
	bool named_only; /* not in test=all: it harms the run on purpose (a vCPU stopped, say) */
};
#define PROBE_ENTRY(id, named_only)                                                   \
	static const char *probe_##id(void);                                         \
	static const struct probe probe_entry_##id __attribute__((used, section(".probes"), \
								  aligned(8))) = { #id, probe_##id, named_only }; \
	static const char *probe_##id(void)
#define PROBE(id) PROBE_ENTRY(id, false)
/* A probe that runs only when test= names it. */
#define PROBE_NAMED_ONLY(id) PROBE_ENTRY(id, true)
extern const struct probe __probes_start[], __probes_end[];

/* main.c: whether the guest command line holds option @opt ("name=") with value @value. */
bool guest_option_is(const char *opt, const char *value);

/* probes_cr4.c: the CPUID bits that decide which CR4 bits exist (SDM Vol. 3A, 2.5). */
struct features {
	u32 ecx1, edx1;       /* CPUID.1 */
	u32 ebx7, ecx7, edx7; /* CPUID.(7,0) */
	u32 eax71;            /* CPUID.(7,1) */
};
void read_features(struct features *f);
/* Does CPUID report CR4 bit @b (LA57 excepted: in IA-32e mode it cannot change either way)? */
bool cr4_bit_exists(unsigned b, const struct features *f);

/*
 * fuzz.c: test=fuzz seed=S n=N (main.c parses them); true when nothing impossible happened.
 * fuzz_opt holds the other options: first=I (start at operation I), skip=KIND,KIND (the kinds
 * not run, though their operations still draw their numbers) and trace=1 (a line per operation).
 */
struct fuzz_options {
	u64 first;
	u32 skip; /* a bit per kind, in fuzz.c's table order */
	bool trace;
};
extern struct fuzz_options fuzz_opt;
/* The bit of kind @name (@len characters) for fuzz_opt.skip, 0 if there is none. */
u32 fuzz_kind_bit(const char *name, size_t len);
bool fuzz_run(u64 seed, u64 n);

void guest_main(const u8 *boot_params);
_Noreturn void guest_finish(unsigned passed, unsigned failed);

#endif
