; entry.asm: VM entry and exit. The exit stub saves the guest's registers into the vCPU,
; calls vmx_handle_exit in C, restores them and resumes the guest.
%include "vcpu.inc"

bits 64
section .text
extern vmx_handle_exit
extern vmx_resume_failed

%macro LOAD_GUEST_GPRS 0		; rax = the vCPU; loaded last
	mov rcx, [rax + GREG_RCX]
	mov rdx, [rax + GREG_RDX]
	mov rbx, [rax + GREG_RBX]
	mov rbp, [rax + GREG_RBP]
	mov rsi, [rax + GREG_RSI]
	mov rdi, [rax + GREG_RDI]
	mov r8, [rax + GREG_R8]
	mov r9, [rax + GREG_R9]
	mov r10, [rax + GREG_R10]
	mov r11, [rax + GREG_R11]
	mov r12, [rax + GREG_R12]
	mov r13, [rax + GREG_R13]
	mov r14, [rax + GREG_R14]
	mov r15, [rax + GREG_R15]
	mov rax, [rax + GREG_RAX]
%endmacro

; int vmx_launch(struct vcpu *v): HOST_RSP already points at a slot holding v.
global vmx_launch
vmx_launch:
	push rbx			; only reached again if VMLAUNCH fails
	push rbp
	push r12
	push r13
	push r14
	push r15
	mov rax, rdi
	LOAD_GUEST_GPRS
	vmlaunch
	; VMfailInvalid sets CF, VMfailValid sets ZF (SDM Vol. 3C, 31.2).
	mov eax, 1
	jc .failed
	mov eax, 2
.failed:
	pop r15
	pop r14
	pop r13
	pop r12
	pop rbp
	pop rbx
	ret

; HOST_RIP. HOST_RSP points at a 16-byte aligned slot that holds the vCPU pointer.
global vmx_exit_stub
vmx_exit_stub:
	push rax			; free one register
	mov rax, [rsp + 8]		; the vCPU
	mov [rax + GREG_RCX], rcx
	mov [rax + GREG_RDX], rdx
	mov [rax + GREG_RBX], rbx
	mov [rax + GREG_RBP], rbp
	mov [rax + GREG_RSI], rsi
	mov [rax + GREG_RDI], rdi
	mov [rax + GREG_R8], r8
	mov [rax + GREG_R9], r9
	mov [rax + GREG_R10], r10
	mov [rax + GREG_R11], r11
	mov [rax + GREG_R12], r12
	mov [rax + GREG_R13], r13
	mov [rax + GREG_R14], r14
	mov [rax + GREG_R15], r15
	pop qword [rax + GREG_RAX]
	mov rdi, rax
	xor ebp, ebp			; stack traces end here
	call vmx_handle_exit		; returns only to resume the guest
	mov rax, [rsp]
	LOAD_GUEST_GPRS
	vmresume
	; VMRESUME failed: report it (never returns).
	mov rdi, [rsp]
	setc sil
	movzx esi, sil
	call vmx_resume_failed
.hang:
	cli
	hlt
	jmp .hang
