/* pte: entry encoding, kept apart so map, walk and unmap agree on it. */
#include "ptlab.h"

uint64_t pte_make(uint32_t frame, int writable)
{
	return ((uint64_t)frame << PAGE_SHIFT) | PTE_P | (writable ? PTE_W : 0);
}

uint32_t pte_frame(uint64_t pte)
{
	return (uint32_t)((pte & PTE_ADDR) >> PAGE_SHIFT);
}

int pte_index(uint64_t va, int level)
{
	return (int)((va >> (PAGE_SHIFT + 9 * (level - 1))) & (PT_ENTRIES - 1));
}
