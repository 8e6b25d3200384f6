; isr.asm: one stub per vector; each builds a struct regs (frame.h) and calls isr_dispatch.
%include "frame.inc"

bits 64
section .text

extern isr_dispatch

; Vectors for which the CPU pushes an error code (SDM Vol. 3A, table 6-1).
%define HAS_ERROR(v) ((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17 || (v) == 21 || (v) == 29 || (v) == 30)

%assign v 0
%rep 256
isr_stub_ %+ v:
%if HAS_ERROR(v) == 0
	push 0			; keep one frame layout for every vector
%endif
	push v
	jmp isr_common
%assign v v + 1
%endrep

isr_common:
	sub rsp, FRAME_VECTOR
	mov [rsp + FRAME_RAX], rax
	mov [rsp + FRAME_RBX], rbx
	mov [rsp + FRAME_RCX], rcx
	mov [rsp + FRAME_RDX], rdx
	mov [rsp + FRAME_RSI], rsi
	mov [rsp + FRAME_RDI], rdi
	mov [rsp + FRAME_RBP], rbp
	mov [rsp + FRAME_R8], r8
	mov [rsp + FRAME_R9], r9
	mov [rsp + FRAME_R10], r10
	mov [rsp + FRAME_R11], r11
	mov [rsp + FRAME_R12], r12
	mov [rsp + FRAME_R13], r13
	mov [rsp + FRAME_R14], r14
	mov [rsp + FRAME_R15], r15
	mov rdi, rsp
	cld
	call isr_dispatch
	mov rax, [rsp + FRAME_RAX]
	mov rbx, [rsp + FRAME_RBX]
	mov rcx, [rsp + FRAME_RCX]
	mov rdx, [rsp + FRAME_RDX]
	mov rsi, [rsp + FRAME_RSI]
	mov rdi, [rsp + FRAME_RDI]
	mov rbp, [rsp + FRAME_RBP]
	mov r8, [rsp + FRAME_R8]
	mov r9, [rsp + FRAME_R9]
	mov r10, [rsp + FRAME_R10]
	mov r11, [rsp + FRAME_R11]
	mov r12, [rsp + FRAME_R12]
	mov r13, [rsp + FRAME_R13]
	mov r14, [rsp + FRAME_R14]
	mov r15, [rsp + FRAME_R15]
	add rsp, FRAME_RIP	; drop the GPRs, vector and error code
	iretq

; Capture the caller's registers into a struct regs at rdi (used by panic()).
global regs_capture
regs_capture:
	mov [rdi + FRAME_RAX], rax
	mov [rdi + FRAME_RBX], rbx
	mov [rdi + FRAME_RCX], rcx
	mov [rdi + FRAME_RDX], rdx
	mov [rdi + FRAME_RSI], rsi
	mov [rdi + FRAME_RDI], rdi
	mov [rdi + FRAME_RBP], rbp
	mov [rdi + FRAME_R8], r8
	mov [rdi + FRAME_R9], r9
	mov [rdi + FRAME_R10], r10
	mov [rdi + FRAME_R11], r11
	mov [rdi + FRAME_R12], r12
	mov [rdi + FRAME_R13], r13
	mov [rdi + FRAME_R14], r14
	mov [rdi + FRAME_R15], r15
	mov rax, [rsp]			; our return address: the caller's rip
	mov [rdi + FRAME_RIP], rax
	lea rax, [rsp + 8]		; the caller's rsp before the call
	mov [rdi + FRAME_RSP], rax
	pushfq
	pop qword [rdi + FRAME_RFLAGS]
	xor eax, eax
	mov ax, cs
	mov [rdi + FRAME_CS], rax
	mov ax, ss
	mov [rdi + FRAME_SS], rax
	mov qword [rdi + FRAME_VECTOR], -1
	mov qword [rdi + FRAME_ERROR], 0
	mov rax, [rdi + FRAME_RAX]
	ret

section .rodata
global isr_stub_table
align 8
isr_stub_table:
%assign v 0
%rep 256
	dq isr_stub_ %+ v
%assign v v + 1
%endrep
