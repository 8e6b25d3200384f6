; entry.asm: the Multiboot2 header and the 32-bit entry that reaches long mode and calls kmain.
bits 32

MB2_MAGIC	equ 0xE85250D6
MB2_ARCH_I386	equ 0
MB2_TAG_END	equ 0
MB2_TAG_INFO_REQ equ 1
MB2_TAG_MODULE_ALIGN equ 6
MB2_TAG_OPTIONAL equ 1

section .multiboot2 progbits alloc noexec nowrite align=8
mb2_header:
	dd MB2_MAGIC
	dd MB2_ARCH_I386
	dd mb2_header_end - mb2_header
	dd -(MB2_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
	; Ask for the command line, modules, memory map and both ACPI RSDP copies.
	; Optional: a loader that cannot give one still boots us, and we say what is missing.
	align 8
info_req:
	dw MB2_TAG_INFO_REQ, MB2_TAG_OPTIONAL
	dd info_req_end - info_req
	dd 1, 3, 6, 14, 15
info_req_end:
	; Page-aligned modules: the guest kernel and initramfs can be used in place.
	align 8
	dw MB2_TAG_MODULE_ALIGN, 0
	dd 8
	align 8
	dw MB2_TAG_END, 0
	dd 8
mb2_header_end:

; SDM Vol. 3A, 9.8.5: initializing IA-32e mode.
CR0_PG		equ 1 << 31
CR0_WP		equ 1 << 16
CR4_PAE		equ 1 << 5
EFER_MSR	equ 0xC0000080
EFER_LME	equ 1 << 8
PTE_P_RW	equ 0x3
PTE_PS		equ 0x80
COM1		equ 0x3F8

section .bss
align 4096
global boot_tables, boot_tables_end
boot_tables:				; unmapped once every CPU is up (paging_drop_boot_tables)
boot_pml4:	resb 4096
boot_pdpt:	resb 4096
boot_pd:	resb 4 * 4096		; four page directories: 0-4 GiB in 2 MiB pages
boot_tables_end:
global boot_stack_bottom, boot_stack_top
		resb 4096		; the boot CPU's stack guard: unmapped by paging_init
boot_stack_bottom:
		resb 16384
boot_stack_top:

section .rodata
align 8
boot_gdt:
	dq 0
	; Accessed bits preset (type 0xB, 0x3): a descriptor load would set them, writing into .rodata.
	dq 0x00AF9B000000FFFF		; 0x08: 64-bit code (same selectors as arch/x86_64/gdt.h)
	dq 0x00CF93000000FFFF		; 0x10: flat data
boot_gdt_end:
boot_gdtr:
	dw boot_gdt_end - boot_gdt - 1
	dq boot_gdt
no_lm_msg:
	db "slatvisor: this CPU has no 64-bit long mode; slatvisor needs an x86-64 CPU. Halted.", 13, 10, 0

section .text
global _start
extern kmain
_start:
	cli
	cld
	mov esp, boot_stack_top
	mov edi, eax			; Multiboot2 magic, checked in C
	mov esi, ebx			; boot information address

	; Long mode needs CPUID leaf 0x80000001 EDX bit 29.
	mov eax, 0x80000000
	cpuid
	cmp eax, 0x80000001
	jb .no_long_mode
	mov eax, 0x80000001
	cpuid
	test edx, 1 << 29
	jz .no_long_mode

	; Identity-map 0-4 GiB: enough for the kernel, the boot data and the APIC.
	mov eax, boot_pdpt
	or eax, PTE_P_RW
	mov [boot_pml4], eax
	mov ecx, 0
.fill_pdpt:
	mov eax, ecx
	shl eax, 12
	add eax, boot_pd
	or eax, PTE_P_RW
	mov [boot_pdpt + ecx * 8], eax
	inc ecx
	cmp ecx, 4
	jb .fill_pdpt
	mov ecx, 0
.fill_pd:
	mov eax, ecx
	shl eax, 21			; entry i maps i * 2 MiB
	or eax, PTE_P_RW | PTE_PS
	mov [boot_pd + ecx * 8], eax
	inc ecx
	cmp ecx, 4 * 512
	jb .fill_pd

	mov eax, boot_pml4
	mov cr3, eax
	mov eax, cr4
	or eax, CR4_PAE
	mov cr4, eax
	mov ecx, EFER_MSR
	rdmsr
	or eax, EFER_LME
	wrmsr
	mov eax, cr0
	or eax, CR0_PG | CR0_WP
	mov cr0, eax
	lgdt [boot_gdtr]
	jmp 0x08:long_mode

.no_long_mode:
	mov esi, no_lm_msg
.next_char:
	lodsb
	test al, al
	jz .halt
	mov ah, al
	out 0xE9, al			; the emulators' debug port
	mov dx, COM1 + 5		; wait for the transmitter, boundedly
	mov ecx, 100000
.wait_thre:
	in al, dx
	test al, 0x20
	jnz .send
	loop .wait_thre
.send:
	mov al, ah
	mov dx, COM1
	out dx, al
	jmp .next_char
.halt:
	cli
	hlt
	jmp .halt

bits 64
long_mode:
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov ss, ax
	xor eax, eax
	mov fs, ax
	mov gs, ax
	mov rsp, boot_stack_top
	xor ebp, ebp			; the end of every stack trace
	mov edi, edi			; zero-extend magic and boot information address
	mov esi, esi
	call kmain
.hang:
	cli
	hlt
	jmp .hang
