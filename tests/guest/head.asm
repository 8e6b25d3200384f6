; head.asm: the protected-mode part's first bytes, at LINK_ADDR (guest.ld).
;
; Offset 0x000: the 32-bit entry (boot.rst's 32-bit protocol: flat segments, ESI = boot_params),
;               reached from setup.asm. It builds temporary identity tables and enters long mode.
; Offset 0x200: the 64-bit entry (boot.rst's 64-bit protocol, what slatvisor uses: long mode,
;               identity-mapped, RSI = boot_params). The stack is unknown here, so nothing is
;               pushed before RSP points at our own.
; Both load the test guest's own GDT and go on to guest_main(boot_params) in main.c.

GDT_CODE64   equ 0x08
GDT_DATA     equ 0x10
CR0_PE       equ 1 << 0
CR0_PG       equ 1 << 31
CR4_PAE      equ 1 << 5
MSR_EFER     equ 0xC0000080
EFER_LME     equ 1 << 8
PTE_P_RW     equ 0x03
PTE_PS       equ 0x80
PAGE         equ 4096

	extern guest_main
	extern __bss_start, __bss_end
	global startup_32, startup_64

	section .head progbits alloc exec
	bits 32
startup_32:
	cld
	mov ebp, esi                     ; boot_params, kept across the table build
	; Temporary tables: PML4 -> PDPT -> 4 page directories of 2 MiB pages = 0-4 GiB.
	mov edi, boot_pt
	mov ecx, 6 * PAGE / 4
	xor eax, eax
	rep stosd
	mov dword [boot_pt], boot_pt + PAGE + PTE_P_RW
	mov edi, boot_pt + PAGE
	mov eax, boot_pt + 2 * PAGE + PTE_P_RW
	mov ecx, 4
.pdpt:	mov [edi], eax
	add eax, PAGE
	add edi, 8
	loop .pdpt
	mov edi, boot_pt + 2 * PAGE
	mov eax, PTE_P_RW | PTE_PS
	xor edx, edx
	mov ecx, 4 * 512
.pd:	mov [edi], eax
	mov [edi + 4], edx
	add eax, 0x200000
	adc edx, 0
	add edi, 8
	loop .pd
	mov eax, boot_pt
	mov cr3, eax
	mov eax, cr4
	or eax, CR4_PAE
	mov cr4, eax
	mov ecx, MSR_EFER
	rdmsr
	or eax, EFER_LME
	wrmsr
	lgdt [gdt64_ptr]
	mov eax, cr0
	or eax, CR0_PE | CR0_PG
	mov cr0, eax
	mov esi, ebp
	jmp GDT_CODE64:startup_64

	times 0x200 - ($ - startup_32) db 0xCC

	bits 64
startup_64:                              ; offset 0x200
	cli
	cld
	lea rsp, [rel boot_stack_top]
	mov rbx, rsi
	lgdt [rel gdt64_ptr]
	lea rax, [rel .reload_cs]
	push GDT_CODE64
	push rax
	retfq
.reload_cs:
	mov eax, GDT_DATA
	mov ds, eax
	mov es, eax
	mov ss, eax
	mov fs, eax
	mov gs, eax
	; .bss holds no page tables nor the stack in use (those are in .noinit): clear it.
	lea rdi, [rel __bss_start]
	lea rcx, [rel __bss_end]
	sub rcx, rdi
	xor eax, eax
	rep stosb
	mov rdi, rbx
	call guest_main
.halt:	cli
	hlt
	jmp .halt

	section .data
	align 16
gdt64:	dq 0
	dq 0x00AF9A000000FFFF            ; 0x08: 64-bit code
	dq 0x00CF92000000FFFF            ; 0x10: data
gdt64_end:
gdt64_ptr:
	dw gdt64_end - gdt64 - 1
	dq gdt64

	section .noinit nobits alloc write
	align PAGE
boot_pt:
	resb 6 * PAGE
boot_stack:
	resb 16 * 1024
boot_stack_top:
