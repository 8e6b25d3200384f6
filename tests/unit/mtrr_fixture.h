/* mtrr_fixture.h: the MTRR setup the EPT tests build their maps over. */
#ifndef SLAT_MTRR_FIXTURE_H
#define SLAT_MTRR_FIXTURE_H

#include <string.h>
#include "../../mm/mtrr.h"

/* Like Bochs's BIOS: WB RAM, UC from 3 GiB, VGA UC in the fixed ranges. */
static inline void bochs_like_mtrrs(struct mtrr_state *m)
{
	memset(m, 0, sizeof(*m));
	m->enabled = true;
	m->default_type = MEMTYPE_WB;
	m->addr_mask = GENMASK(35, 12);
	m->fixed_enabled = true;
	memset(m->fixed, MEMTYPE_WB, sizeof(m->fixed));
	for (unsigned i = 16; i < 24; i++)
		m->fixed[i] = MEMTYPE_UC;
	m->var[0].base = 3 * GiB | MEMTYPE_UC;
	m->var[0].mask = (m->addr_mask & ~(GiB - 1)) | MTRR_PHYSMASK_VALID;
	m->nvar = 1;
}

#endif
