/* test_event.c: an exception raised while another event is delivered (vmx/event.c, SDM Table 6-5). */
#include "check.h"
#include "../../vmx/event.h"
#include "../../arch/x86_64/idt.h"

static u32 hw(u8 vector) { return INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION << INTR_TYPE_SHIFT | vector; }
static u32 of_type(unsigned type, u8 vector) { return INTR_INFO_VALID | type << INTR_TYPE_SHIFT | vector; }

TEST(event_nothing_interrupted_is_serial)
{
	CHECK_EQ(event_combine(0, VEC_PF), EVENT_SERIAL);
	CHECK_EQ(event_combine(hw(VEC_PF) & ~INTR_INFO_VALID, VEC_PF), EVENT_SERIAL);
}

TEST(event_page_fault_first)
{
	CHECK_EQ(event_combine(hw(VEC_PF), VEC_PF), EVENT_DOUBLE_FAULT);
	CHECK_EQ(event_combine(hw(VEC_PF), VEC_GP), EVENT_DOUBLE_FAULT);
	CHECK_EQ(event_combine(hw(VEC_PF), VEC_DE), EVENT_DOUBLE_FAULT);
	CHECK_EQ(event_combine(hw(VEC_PF), VEC_UD), EVENT_SERIAL);
	CHECK_EQ(event_combine(hw(VEC_VE), VEC_PF), EVENT_DOUBLE_FAULT);
}

TEST(event_contributory_first)
{
	static const u8 contributory[] = { VEC_DE, VEC_TS, VEC_NP, VEC_SS, VEC_GP, VEC_CP };
	for (unsigned i = 0; i < sizeof(contributory); i++) {
		CHECK_EQ(event_combine(hw(contributory[i]), VEC_GP), EVENT_DOUBLE_FAULT);
		CHECK_EQ(event_combine(hw(contributory[i]), VEC_NP), EVENT_DOUBLE_FAULT);
		CHECK_EQ(event_combine(hw(contributory[i]), VEC_PF), EVENT_SERIAL);
		CHECK_EQ(event_combine(hw(contributory[i]), VEC_DB), EVENT_SERIAL);
	}
}

TEST(event_benign_first_is_serial)
{
	static const u8 benign[] = { VEC_DB, VEC_NMI, VEC_BP, VEC_OF, VEC_BR, VEC_UD, VEC_NM,
				     VEC_MF, VEC_AC, VEC_MC, VEC_XM };
	for (unsigned i = 0; i < sizeof(benign); i++) {
		CHECK_EQ(event_combine(hw(benign[i]), VEC_PF), EVENT_SERIAL);
		CHECK_EQ(event_combine(hw(benign[i]), VEC_GP), EVENT_SERIAL);
	}
	/* Interrupts, NMIs and INT n / INT3 / INTO are benign whatever their vector. */
	CHECK_EQ(event_combine(of_type(INTR_TYPE_EXTERNAL, VEC_PF), VEC_PF), EVENT_SERIAL);
	CHECK_EQ(event_combine(of_type(INTR_TYPE_NMI, VEC_NMI), VEC_PF), EVENT_SERIAL);
	CHECK_EQ(event_combine(of_type(INTR_TYPE_SW_INTERRUPT, VEC_GP), VEC_GP), EVENT_SERIAL);
	CHECK_EQ(event_combine(of_type(INTR_TYPE_SW_EXCEPTION, VEC_BP), VEC_PF), EVENT_SERIAL);
	CHECK_EQ(event_combine(of_type(INTR_TYPE_PRIV_SW_EXCEPTION, VEC_DB), VEC_PF), EVENT_SERIAL);
}

TEST(event_double_fault_first_shuts_down)
{
	CHECK_EQ(event_combine(hw(VEC_DF), VEC_PF), EVENT_SHUTDOWN);
	CHECK_EQ(event_combine(hw(VEC_DF), VEC_GP), EVENT_SHUTDOWN);
	CHECK_EQ(event_combine(hw(VEC_DF), VEC_SS), EVENT_SHUTDOWN);
	CHECK_EQ(event_combine(hw(VEC_DF), VEC_UD), EVENT_SERIAL);
}
