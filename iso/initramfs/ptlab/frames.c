/* frames: the model's physical memory and a free-list allocator over it. */
#include <string.h>
#include "ptlab.h"

static uint64_t memory[FRAMES][PT_ENTRIES];
static uint32_t free_list[FRAMES];
static uint32_t free_count;

void frames_init(void)
{
	/* Frame 0 stays reserved so a zero frame number can never be a real table. */
	free_count = 0;
	for (uint32_t f = FRAMES - 1; f > 0; f--)
		free_list[free_count++] = f;
}

uint64_t *frame_ptr(uint32_t frame)
{
	return memory[frame];
}

int frame_alloc(uint32_t *frame)
{
	if (!free_count)
		return -1;
	*frame = free_list[--free_count];
	memset(memory[*frame], 0, sizeof(memory[0]));
	return 0;
}

void frame_free(uint32_t frame)
{
	free_list[free_count++] = frame;
}

uint32_t frames_used(void)
{
	return FRAMES - 1 - free_count;
}
