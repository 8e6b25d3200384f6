/* pte_short.h: short names for the paging-entry bits of mm/pte.h, for unit tests that build many entries. */
#ifndef SLAT_TEST_PTE_SHORT_H
#define SLAT_TEST_PTE_SHORT_H

#include "../../mm/pte.h"

#define P PTE_P
#define RW PTE_RW
#define US PTE_US
#define A PTE_A
#define D PTE_D
#define PS PTE_PS
#define G PTE_G
#define XD PTE_XD

#endif
