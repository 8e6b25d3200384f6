/*
 * paging.c: the test guest's own page tables, replacing whatever its loader left: 0-4 GiB
 * identity-mapped in 2 MiB pages, except the 2 MiB around ro_page, mapped in 4 KiB pages so
 * that ro_page alone can be read-only (for the CR0.WP probe).
 */
#include "guest.h"

#define PTE_P BIT(0)
#define PTE_RW BIT(1)
#define PTE_PS BIT(7)
#define PAGE_SIZE 4096ULL
#define LARGE 0x200000ULL

u64 pml4[512] __attribute__((aligned(4096)));
static u64 pdpt[512] __attribute__((aligned(4096)));
static u64 pd[4][512] __attribute__((aligned(4096)));
static u64 pt[512] __attribute__((aligned(4096)));
volatile u64 ro_page[512] __attribute__((aligned(4096)));

void paging_init(void)
{
	u64 ro = (u64)(uintptr_t)ro_page, region = ro & ~(LARGE - 1);
	for (unsigned i = 0; i < 512; i++) {
		u64 a = region + i * PAGE_SIZE;
		pt[i] = a | PTE_P | (a == ro ? 0 : PTE_RW);
	}
	for (unsigned g = 0; g < 4; g++) {
		pdpt[g] = (u64)(uintptr_t)pd[g] | PTE_P | PTE_RW;
		for (unsigned i = 0; i < 512; i++) {
			u64 a = ((u64)g << 30) + i * LARGE;
			pd[g][i] = a == region ? (u64)(uintptr_t)pt | PTE_P | PTE_RW : a | PTE_P | PTE_RW | PTE_PS;
		}
	}
	pml4[0] = (u64)(uintptr_t)pdpt | PTE_P | PTE_RW;
	write_cr3((u64)(uintptr_t)pml4);
	/* Supervisor writes honour read-only pages from here on (the loader may have left WP clear). */
	write_cr0(read_cr0() | CR0_WP);
}

void paging_set_pml4(unsigned slot, u64 entry)
{
	pml4[slot] = entry;
	write_cr3(read_cr3()); /* the old entry may be cached: a PML4 entry has no INVLPG of its own */
}
