; trampoline.asm: an application processor's path from real mode to long mode.
; The boot CPU copies this blob to a free page below 1 MiB, fills the params
; (trampoline.h) and sends the startup IPI with that page as the vector.
%include "trampoline.inc"

section .rodata
bits 16
align 16
global trampoline_start, trampoline_end, trampoline_params, trampoline_gdt
global trampoline_pm32, trampoline_lm64

trampoline_start:
	cli
	cld
	mov ax, cs
	mov ds, ax
	movzx ebx, ax
	shl ebx, 4			; ebx = the blob's physical address, kept to the end
	lgdt [trampoline_params - trampoline_start + TRAMP_GDTR]
	mov eax, cr0
	or eax, 1			; CR0.PE
	mov cr0, eax
	jmp dword far [trampoline_params - trampoline_start + TRAMP_PM32_JUMP]

bits 32
trampoline_pm32:
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov eax, [ebx + trampoline_params - trampoline_start + TRAMP_CR4]
	mov cr4, eax			; PAE and what else the boot CPU runs with
	mov eax, [ebx + trampoline_params - trampoline_start + TRAMP_CR3]
	mov cr3, eax
	mov ecx, 0xC0000080		; IA32_EFER
	mov eax, [ebx + trampoline_params - trampoline_start + TRAMP_EFER]
	xor edx, edx
	wrmsr				; LME (and NXE) as on the boot CPU
	mov eax, [ebx + trampoline_params - trampoline_start + TRAMP_CR0]
	mov cr0, eax			; PG on: now in compatibility mode
	jmp far [ebx + trampoline_params - trampoline_start + TRAMP_LM64_JUMP]

bits 64
trampoline_lm64:
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov rsp, [rbx + trampoline_params - trampoline_start + TRAMP_STACK]
	mov rdi, [rbx + trampoline_params - trampoline_start + TRAMP_PERCPU]
	mov rax, [rbx + trampoline_params - trampoline_start + TRAMP_ENTRY]
	xor ebp, ebp			; ends the stack trace
	push 0				; a zero return address, for the same reason
	jmp rax

align 8
trampoline_gdt:
	dq 0
	dq 0x00AF9A000000FFFF		; 0x08: 64-bit code
	dq 0x00CF92000000FFFF		; 0x10: flat data
	dq 0x00CF9A000000FFFF		; 0x18: 32-bit code
trampoline_gdt_end:

align 8
trampoline_params:
	times TRAMP_PARAMS_SIZE db 0
trampoline_end:

; The GDT limit is fixed; the boot CPU patches only the bases and jump targets.
%if trampoline_gdt_end - trampoline_gdt != 32
%error "trampoline GDT size"
%endif
