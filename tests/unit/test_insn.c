/* test_insn.c: the MMIO store decoder on the instruction forms Linux uses for its local APIC. */
#include <string.h>
#include "check.h"
#include "../../vmx/insn.h"

static struct mmio_store d(const u8 *code, unsigned len, bool *ok)
{
	struct mmio_store s;
	memset(&s, 0xAA, sizeof(s));
	*ok = insn_decode_store(code, len, &s);
	return s;
}

TEST(insn_mov_reg_to_absolute_address)
{
	/* mov %eax, 0xffffffffff5fd300  (89 04 25 disp32) */
	const u8 c[] = { 0x89, 0x04, 0x25, 0x00, 0xd3, 0x5f, 0xff, 0x90 };
	bool ok;
	struct mmio_store s = d(c, sizeof(c), &ok);
	CHECK(ok);
	CHECK_EQ(s.length, 7);
	CHECK_EQ(s.size, 4);
	CHECK(s.from_reg);
	CHECK_EQ(s.reg, 0);
}

TEST(insn_mov_reg_through_register_and_rex)
{
	/* mov %esi, (%rdi) */
	const u8 a[] = { 0x89, 0x37 };
	/* mov %r9d, 0x10(%rax) */
	const u8 b[] = { 0x44, 0x89, 0x48, 0x10 };
	/* mov %rdx, 0x300(%rbx,%rcx,4) */
	const u8 c[] = { 0x48, 0x89, 0x94, 0x8b, 0x00, 0x03, 0x00, 0x00 };
	bool ok;
	struct mmio_store s = d(a, sizeof(a), &ok);
	CHECK(ok && s.length == 2 && s.size == 4 && s.reg == 6);
	s = d(b, sizeof(b), &ok);
	CHECK(ok && s.length == 4 && s.size == 4 && s.reg == 9);
	s = d(c, sizeof(c), &ok);
	CHECK(ok && s.length == 8 && s.size == 8 && s.reg == 2);
}

TEST(insn_mov_immediate_and_rip_relative)
{
	/* movl $0x0, 0xffffffffff5fd0b0 (C7 04 25 disp32 imm32): an EOI */
	const u8 a[] = { 0xc7, 0x04, 0x25, 0xb0, 0xd0, 0x5f, 0xff, 0x00, 0x00, 0x00, 0x00 };
	/* movl $0xc500, 0x1234(%rip) */
	const u8 b[] = { 0xc7, 0x05, 0x34, 0x12, 0x00, 0x00, 0x00, 0xc5, 0x00, 0x00 };
	/* movq $-1, (%rax) sign-extends */
	const u8 c[] = { 0x48, 0xc7, 0x00, 0xff, 0xff, 0xff, 0xff };
	bool ok;
	struct mmio_store s = d(a, sizeof(a), &ok);
	CHECK(ok && s.length == 11 && s.size == 4 && !s.from_reg && s.imm == 0);
	s = d(b, sizeof(b), &ok);
	CHECK(ok && s.length == 10 && s.imm == 0xc500);
	s = d(c, sizeof(c), &ok);
	CHECK(ok && s.length == 7 && s.size == 8 && s.imm == ~0ULL);
}

TEST(insn_prefixes_and_byte_stores)
{
	/* mov %ah, (%rdx): no REX, so register 4 is AH */
	const u8 a[] = { 0x88, 0x22 };
	/* mov %ax, %fs:(%rbx): 66 64 89 03 */
	const u8 b[] = { 0x66, 0x64, 0x89, 0x03 };
	/* movb $0x5, -0x8(%rbp) */
	const u8 c[] = { 0xc6, 0x45, 0xf8, 0x05 };
	bool ok;
	struct mmio_store s = d(a, sizeof(a), &ok);
	CHECK(ok && s.length == 2 && s.size == 1 && s.from_reg && s.reg == 0 && s.high_byte);
	/* with REX, register 4 is SPL: mov %spl, (%rdx) */
	const u8 spl[] = { 0x40, 0x88, 0x22 };
	s = d(spl, sizeof(spl), &ok);
	CHECK(ok && s.length == 3 && s.reg == 4 && !s.high_byte);
	/* REX.W with 0x66 on C7: the immediate stays 4 bytes */
	const u8 wide[] = { 0x66, 0x48, 0xc7, 0x00, 0x01, 0x00, 0x00, 0x00 };
	s = d(wide, sizeof(wide), &ok);
	CHECK(ok && s.length == 8 && s.size == 8 && s.imm == 1);
	s = d(b, sizeof(b), &ok);
	CHECK(ok && s.length == 4 && s.size == 2 && s.reg == 0);
	s = d(c, sizeof(c), &ok);
	CHECK(ok && s.length == 4 && s.size == 1 && s.imm == 5);
}

TEST(insn_refuses_what_it_does_not_know)
{
	bool ok;
	const u8 load[] = { 0x8b, 0x07 };           /* mov (%rdi), %eax: a load */
	const u8 regdst[] = { 0x89, 0xc7 };         /* mov %eax, %edi: no memory */
	const u8 c7_other[] = { 0xc7, 0x48, 0x10 }; /* C7 /1 is not MOV */
	const u8 truncated[] = { 0x89, 0x04 };      /* needs a SIB byte */
	const u8 lone_rex[] = { 0x48 };
	const u8 xchg[] = { 0x87, 0x02 }; /* xchg needs the old value loaded: refused */
	d(xchg, sizeof(xchg), &ok);
	CHECK(!ok);
	d(load, sizeof(load), &ok);
	CHECK(!ok);
	d(regdst, sizeof(regdst), &ok);
	CHECK(!ok);
	d(c7_other, sizeof(c7_other), &ok);
	CHECK(!ok);
	d(truncated, sizeof(truncated), &ok);
	CHECK(!ok);
	d(lone_rex, sizeof(lone_rex), &ok);
	CHECK(!ok);
	d(NULL, 0, &ok);
	CHECK(!ok);
}
