; trampoline.asm: the instruction sequence of Linux 6.1's AP start-up code
; (arch/x86/realmode/rm/trampoline_64.S with kernel/verify_cpu.S), assembled
; for the interpreter's unit test. It is loaded at TRAMPOLINE_BASE and
; started with the SIPI vector TRAMPOLINE_BASE >> 12; the data it uses sits
; at fixed offsets the test knows (see test_emul.c).

%define TRAMPOLINE_BASE 0x9A000
%define KERNEL32_CS 0x08
%define KERNEL_CS 0x10
%define KERNEL_DS 0x18
%define CR0_STATE 0x80050033          ; PG | AM | WP | NE | ET | MP | PE
%define MSR_EFER 0xC0000080
%define MSR_IA32_MISC_ENABLE 0x1A0
%define MSR_K7_HWCR 0xC0010015
%define REQUIRED_MASK0 0x0700A179     ; FPU PSE TSC MSR PAE CX8 PGE CMOV FXSR XMM XMM2
%define REQUIRED_MASK1 0x20000000     ; LM
%define SSE_MASK 0x06000000           ; XMM XMM2

%define PA(x) (TRAMPOLINE_BASE + (x))

	bits 16
	org 0

trampoline_start:
	cli
	wbinvd
	db 0xEA                        ; LJMPW_RM(1f): ljmpw to the real-mode segment
	dw .rm
	dw TRAMPOLINE_BASE >> 4
.rm:
	mov ax, cs
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov esp, rm_stack_end
	call verify_cpu
	test eax, eax
	jnz no_longmode
	o32 lidt [tr_idt]
	o32 lgdt [tr_gdt]
	mov edx, KERNEL_DS
	mov eax, CR0_STATE & ~0x80000000
	mov cr0, eax
	jmp dword KERNEL32_CS:PA(startup_32)
no_longmode:
	hlt
	jmp no_longmode

verify_cpu:
	pushf
	push word 0
	popf
	mov eax, 0
	cpuid
	cmp eax, 1
	jb .no_longmode
	xor di, di
	cmp ebx, 0x68747541            ; AuthenticAMD
	jnz .noamd
	cmp edx, 0x69746e65
	jnz .noamd
	cmp ecx, 0x444d4163
	jnz .noamd
	mov di, 1
	jmp .check
.noamd:
	cmp ebx, 0x756e6547            ; GenuineIntel
	jnz .check
	cmp edx, 0x49656e69
	jnz .check
	cmp ecx, 0x6c65746e
	jnz .check
	mov eax, 1
	cpuid
	mov ecx, eax
	and eax, 0x0ff00f00
	shr eax, 8
	cmp eax, 6
	ja .clear_xd
	jb .check
	and ecx, 0x000f00f0
	shr ecx, 4
	cmp ecx, 0xd
	jb .check
.clear_xd:
	mov ecx, MSR_IA32_MISC_ENABLE
	rdmsr
	btr edx, 2
	jnc .check
	wrmsr
.check:
	mov eax, 1
	cpuid
	and edx, REQUIRED_MASK0
	xor edx, REQUIRED_MASK0
	jnz .no_longmode
	mov eax, 0x80000000
	cpuid
	cmp eax, 0x80000001
	jb .no_longmode
	mov eax, 0x80000001
	cpuid
	and edx, REQUIRED_MASK1
	xor edx, REQUIRED_MASK1
	jnz .no_longmode
.sse_test:
	mov eax, 1
	cpuid
	and edx, SSE_MASK
	cmp edx, SSE_MASK
	je .sse_ok
	test di, di
	jz .no_longmode
	mov ecx, MSR_K7_HWCR
	rdmsr
	btr eax, 15
	wrmsr
	xor di, di
	jmp .sse_test
.no_longmode:
	popf
	mov eax, 1
	ret
.sse_ok:
	popf
	xor eax, eax
	ret

	bits 32
	align 4
startup_32:
	mov ss, edx
	add esp, TRAMPOLINE_BASE
	mov ds, edx
	mov es, edx
	mov fs, edx
	mov gs, edx
	bt dword [PA(tr_flags)], 0     ; TH_FLAGS_SME_ACTIVE_BIT
	jnc .done
	hlt                            ; SME is AMD's: never taken on these CPUs
.done:
	mov eax, [PA(tr_cr4)]
	mov cr4, eax
	mov eax, PA(trampoline_pgd)
	mov cr3, eax
	mov ecx, MSR_EFER
	rdmsr
	cmp eax, [PA(tr_efer)]
	jne .write_efer
	cmp edx, [PA(tr_efer) + 4]
	je .done_efer
.write_efer:
	mov eax, [PA(tr_efer)]
	mov edx, [PA(tr_efer) + 4]
	wrmsr
.done_efer:
	mov eax, CR0_STATE
	mov cr0, eax
vmentry_point:                         ; the first instruction VT-x can run
	jmp dword KERNEL_CS:PA(startup_64)

	bits 64
startup_64:
	jmp [rel tr_start]

; ---- data, at the offsets the test reads ----
	times 0x200 - ($ - $$) db 0
tr_start:  dq 0xFFFFFFFF81000000       ; secondary_startup_64
tr_efer:   dq 0x901                    ; SCE | LME | NXE
tr_cr4:    dd 0xA0                     ; PAE | PGE
tr_flags:  dd 0
tr_idt:    times 6 db 0
	align 16
tr_gdt:
	dw tr_gdt_end - tr_gdt - 1
	dd PA(tr_gdt)
	dw 0
	dq 0x00cf9b000000ffff          ; __KERNEL32_CS
	dq 0x00af9b000000ffff          ; __KERNEL_CS
	dq 0x00cf93000000ffff          ; __KERNEL_DS
tr_gdt_end:
	times 0x300 - ($ - $$) db 0
vmentry_offset: dd vmentry_point       ; for the test: where VM entry is due
	times 0x1000 - ($ - $$) db 0
trampoline_pgd: times 0x1000 db 0
	times 0x400 db 0
rm_stack_end:
