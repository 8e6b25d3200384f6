/* vmcs.h: width-checked VMCS accessors and the one place that reports VMX instruction failures. */
#ifndef SLAT_VMCS_H
#define SLAT_VMCS_H

#include "vmcs_fields.h"
#include "vmx_ops.h"

/*
 * Read or write a field. A failure here means slatvisor used a field the CPU
 * does not have, or wrote a read-only one: a hypervisor bug, so it panics with
 * the decoded VM-instruction error.
 */
NORETURN void vmcs_access_failed(enum vmcs_field f, u64 v, enum vmcs_width w, bool write,
				 enum vmx_result r);

/* Inline: every exit does several of these, and an exit handler should be short. */
static inline u64 vmcs_read_checked(enum vmcs_field f, enum vmcs_width w)
{
	u64 v = 0;
	enum vmx_result r = VMCS_FIELD_WIDTH(f) == w ? vmx_vmread(f, &v) : VMX_FAIL_INVALID;
	if (__builtin_expect(r != VMX_OK || VMCS_FIELD_WIDTH(f) != w, 0))
		vmcs_access_failed(f, 0, w, false, r);
	return v;
}

static inline void vmcs_write_checked(enum vmcs_field f, u64 v, enum vmcs_width w)
{
	static const u64 width_mask[] = { 0xFFFF, ~0ULL, 0xFFFFFFFF, ~0ULL };
	bool fits = VMCS_FIELD_WIDTH(f) == w && !(v & ~width_mask[w]);
	enum vmx_result r = fits ? vmx_vmwrite(f, v) : VMX_FAIL_INVALID;
	if (__builtin_expect(r != VMX_OK || !fits, 0))
		vmcs_access_failed(f, v, w, true, r);
}

/* A constant field used with the wrong width does not compile (gcc's error attribute). */
void vmcs_width_mismatch(void) __attribute__((error("VMCS field accessed with the wrong width")));
#define VMCS_WIDTH_CHECK(f, w)                                                        \
	do {                                                                          \
		if (__builtin_constant_p(f) && VMCS_FIELD_WIDTH(f) != (w))            \
			vmcs_width_mismatch();                                        \
	} while (0)

#define vmcs_read16(f) ({ VMCS_WIDTH_CHECK(f, VMCS_W16); (u16)vmcs_read_checked(f, VMCS_W16); })
#define vmcs_read32(f) ({ VMCS_WIDTH_CHECK(f, VMCS_W32); (u32)vmcs_read_checked(f, VMCS_W32); })
#define vmcs_read64(f) ({ VMCS_WIDTH_CHECK(f, VMCS_W64); vmcs_read_checked(f, VMCS_W64); })
#define vmcs_readnat(f) ({ VMCS_WIDTH_CHECK(f, VMCS_WNAT); vmcs_read_checked(f, VMCS_WNAT); })
#define vmcs_write16(f, v) do { VMCS_WIDTH_CHECK(f, VMCS_W16); vmcs_write_checked(f, v, VMCS_W16); } while (0)
#define vmcs_write32(f, v) do { VMCS_WIDTH_CHECK(f, VMCS_W32); vmcs_write_checked(f, v, VMCS_W32); } while (0)
#define vmcs_write64(f, v) do { VMCS_WIDTH_CHECK(f, VMCS_W64); vmcs_write_checked(f, v, VMCS_W64); } while (0)
#define vmcs_writenat(f, v) do { VMCS_WIDTH_CHECK(f, VMCS_WNAT); vmcs_write_checked(f, v, VMCS_WNAT); } while (0)

/* The text of a VM-instruction error number (SDM Vol. 3C, 31.4). */
const char *vm_instruction_error_name(u32 err);

/*
 * Describe a failed VMX instruction: "VMfailInvalid", or "VMfailValid, error N: text"
 * read from the current VMCS. Returns @buf.
 */
const char *vmx_describe_failure(enum vmx_result r, char *buf, size_t len);

#endif
