; paging_off.asm: leave IA-32e mode and come back, for the cr0_paging_off probe (probes_cr.c).

GDT_CODE64   equ 0x08
GDT_CODE32   equ 0x28                    ; tss.c's GDT
CR0_PG       equ 1 << 31
MSR_EFER     equ 0xC0000080
MARK         equ 0x600DF00D

	global paging_off_roundtrip

	section .text
	bits 64
; u32 paging_off_roundtrip(volatile u32 *cell): with interrupts off, go to compatibility mode
; and clear CR0.PG there, which ends IA-32e mode (SDM Vol. 3A, 10.8.5.4): 32-bit protected mode
; with paging off. Write MARK to *cell (identity-mapped, below 4 GiB), read EFER, set CR0.PG again
; (EFER.LME is still set: IA-32e mode again) and far-jump back to 64-bit code. Returns the low half
; of EFER as read with paging off.
paging_off_roundtrip:
	push rbx
	pushfq
	cli
	lea rax, [rel .compat]
	push GDT_CODE32
	push rax
	retfq
	bits 32
.compat:
	mov eax, cr0
	and eax, ~CR0_PG
	mov cr0, eax                     ; without unrestricted guest, slatvisor interprets from here
	mov dword [edi], MARK
	mov ecx, MSR_EFER
	rdmsr
	mov ebx, eax
	mov eax, cr0
	or eax, CR0_PG
	mov cr0, eax                     ; compatibility mode again: VT-x can enter here
	jmp GDT_CODE64:.long
	bits 64
.long:
	mov eax, ebx
	popfq
	pop rbx
	ret
