; isr.asm: one stub for each of the 256 vectors, and the fault-recovery call.
;
; fault_call(fn, arg) runs fn(arg). If any exception arrives while it runs, the common stub
; records vector, error code and faulting RIP (fault_vector, fault_error, fault_rip) and
; returns from the exception into fault_resume with the stack as fault_call left it, so
; fault_call returns 1 instead of 0. An exception outside fault_call goes to
; unexpected_exception() in idt.c, which reports it and powers off.

	global isr_table, fault_call, fault_vector, fault_error, fault_rip
	global irq_count, irq_counting, lapic_eoi_addr
	extern unexpected_exception

	section .text
	bits 64

; The vectors for which the CPU pushes an error code (SDM Vol. 3A, 6.3.1 and Table 6-1):
; #DF 8, #TS 10, #NP 11, #SS 12, #GP 13, #PF 14, #AC 17, #CP 21, #VC 29, #SX 30.
%macro STUB 1
isr_stub_%1:
%if %1 == 8 || (%1 >= 10 && %1 <= 14) || %1 == 17 || %1 == 21 || %1 == 29 || %1 == 30
%else
	push 0
%endif
	push %1
	jmp isr_common
%endmacro

%assign v 0
%rep 256
	STUB v
%assign v v + 1
%endrep

; Stack here: vector, error code, then the CPU's RIP, CS, RFLAGS, RSP, SS.
isr_common:
	cmp byte [rel irq_counting], 0
	je .exception
	cmp qword [rsp], 2               ; NMI
	je .count
	cmp qword [rsp], 32
	jae .count
	cmp byte [rel irq_counting], 2   ; 2: vectors 16-31 are interrupts too (self_ipi)
	jne .exception
	cmp qword [rsp], 16
	jb .exception
.count:
	push rax
	push rcx
	mov rcx, [rsp + 16]
	lea rax, [rel irq_count]
	lock inc dword [rax + rcx * 4]
	cmp rcx, 2
	je .counted                      ; an NMI takes no EOI
	mov rax, [rel lapic_eoi_addr]
	mov dword [rax], 0               ; a plain MOV: slatvisor may have to decode it
.counted:
	pop rcx
	pop rax
	add rsp, 16
	iretq
.exception:
	cmp byte [rel armed], 0
	je .unexpected
	mov byte [rel armed], 0
	mov rax, [rsp]
	mov [rel fault_vector], rax
	mov rax, [rsp + 8]
	mov [rel fault_error], rax
	mov rax, [rsp + 16]
	mov [rel fault_rip], rax
	lea rax, [rel fault_resume]
	mov [rsp + 16], rax
	mov rax, [rel saved_rsp]
	mov [rsp + 40], rax
	add rsp, 16
	iretq
.unexpected:
	mov rdi, [rsp]
	mov rsi, [rsp + 8]
	mov rdx, [rsp + 16]
	and rsp, -16
	call unexpected_exception        ; does not return
.halt:	cli
	hlt
	jmp .halt

; int fault_call(void (*fn)(u64), u64 arg)
fault_call:
	mov [rel saved_rbx], rbx
	mov [rel saved_rbp], rbp
	mov [rel saved_r12], r12
	mov [rel saved_r13], r13
	mov [rel saved_r14], r14
	mov [rel saved_r15], r15
	mov [rel saved_rsp], rsp
	mov byte [rel armed], 1
	mov rax, rdi
	mov rdi, rsi
	sub rsp, 8                       ; the ABI's 16-byte alignment at the call
	call rax
	add rsp, 8
	mov byte [rel armed], 0
	xor eax, eax
	ret
fault_resume:
	mov rbx, [rel saved_rbx]
	mov rbp, [rel saved_rbp]
	mov r12, [rel saved_r12]
	mov r13, [rel saved_r13]
	mov r14, [rel saved_r14]
	mov r15, [rel saved_r15]
	mov eax, 1
	ret

	section .rodata
	align 8
isr_table:
%assign v 0
%rep 256
	dq isr_stub_ %+ v
%assign v v + 1
%endrep

	section .bss
	align 8
fault_vector:	resq 1
fault_error:	resq 1
fault_rip:	resq 1
saved_rsp:	resq 1
saved_rbx:	resq 1
saved_rbp:	resq 1
saved_r12:	resq 1
saved_r13:	resq 1
saved_r14:	resq 1
saved_r15:	resq 1
armed:		resb 1
irq_counting:	resb 1
	alignb 8
lapic_eoi_addr:	resq 1
	alignb 4
irq_count:	resd 256
