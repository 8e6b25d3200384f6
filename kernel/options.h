/* options.h: the hypervisor's command-line options, one table for parsing and documentation. */
#ifndef SLAT_OPTIONS_H
#define SLAT_OPTIONS_H

#include "cmdline.h"

/* Index order of each enum matches its option's choices string. */
enum test_fault { TEST_FAULT_NONE, TEST_FAULT_PANIC, TEST_FAULT_PAGEFAULT, TEST_FAULT_UD, TEST_FAULT_CODE, TEST_FAULT_STACK };
enum paging_mode { PAGING_AUTO, PAGING_EPT, PAGING_SHADOW };
enum cr3_store_exiting { CR3_STORE_AUTO, CR3_STORE_ALWAYS };
enum monitor_step { MONITOR_STEP_AUTO, MONITOR_STEP_TF };

struct hv_options {
	u64 console;        /* enum console_kind */
	u64 loglevel;       /* enum log_level */
	u64 apic;           /* enum apic_mode_choice */
	u64 maxcpus;        /* 0: all */
	u64 smp_timeout_ms; /* per CPU */
	u64 acpi_dump;      /* bool */
	u64 test_fault;     /* enum test_fault */
	u64 paging;         /* enum paging_mode */
	u64 hvmem_mb;       /* the hypervisor's own memory pool */
	u64 shadow_pages;   /* the shadow page pool */
	u64 cr3_store_exiting; /* enum cr3_store_exiting */
	u64 hvmem_fill;     /* bool: fill the free pool with a pattern (isolation tests) */
	u64 monitor;        /* bool: guest memory monitoring (hypercalls) */
	u64 monitor_cpl3;   /* bool: monitoring calls from CPL 3 too */
	u64 monitor_pool;   /* private EPT pages for monitoring */
	u64 monitor_step;   /* enum monitor_step */
};

extern struct hv_options opts;
extern const struct opt_desc option_table[];
extern const size_t option_count;

/* Parse @cmdline into opts; problems go to @d for logging once the console is up. */
void options_parse(const char *cmdline, struct diag_list *d);

#endif
