; setup.asm: the test guest's real-mode part, the first (SETUP_SECTS + 1) sectors of its bzImage.
;
; It holds the setup header of Linux's x86 boot protocol (Documentation/x86/boot.rst) and a
; 16-bit entry for loaders that use the real-mode protocol (QEMU's -kernel, GRUB's linux16).
; slatvisor uses the 64-bit protocol instead and never runs this code: it reads the header
; (kernel/bzimage.c), copies the protected-mode part to pref_address and jumps to its offset
; 0x200 in long mode with RSI = boot_params.
;
; Built with: nasm -f bin -D PAYLOAD_BYTES=n -D INIT_BYTES=n -D LINK_ADDR=a setup.asm
; PAYLOAD_BYTES is the protected-mode part's size (a multiple of 16), INIT_BYTES the memory it
; needs from its load address (bss included), LINK_ADDR where it is linked (guest.ld).

%ifndef PAYLOAD_BYTES
%error "PAYLOAD_BYTES is not defined"
%endif

SETUP_SECTS     equ 4              ; sectors after the boot sector: this file is 5 * 512 bytes
BOOT_VERSION    equ 0x020C         ; 2.12: xloadflags and the 64-bit entry (slatvisor's minimum)
LOADED_HIGH     equ 0x01           ; loadflags: the protected-mode part goes at 1 MiB or above
CAN_USE_HEAP    equ 0x80
XLF_KERNEL_64   equ 0x01           ; xloadflags: there is a 64-bit entry at offset 0x200
CODE32_DEFAULT  equ 0x100000       ; where real-mode loaders put the protected-mode part
CMDLINE_MAX     equ 2047
KERNEL_ALIGN    equ 0x200000

BOOT_CS32       equ 0x10           ; __BOOT_CS / __BOOT_DS of the 32-bit protocol
BOOT_DS32       equ 0x18
CR0_PE          equ 1
PORT_SYS_CTRL_A equ 0x92           ; bit 1: fast A20 gate (bit 0 would reset: left clear)

	org 0
	bits 16

; ---- the boot sector: nobody boots it from a disk; say so if a BIOS does ----
boot_sector:
	jmp 0x07C0:.here
.here:	mov ax, cs
	mov ds, ax
	mov si, no_disk - boot_sector
.print:	lodsb
	test al, al
	jz .stop
	mov ah, 0x0E
	int 0x10
	jmp .print
.stop:	cli
	hlt
	jmp .stop
no_disk: db "slatvisor test guest: boot it with a bzImage loader", 13, 10, 0

	times 0x1F1 - ($ - $$) db 0

; ---- the setup header, at 0x1F1 ----
setup_sects:	db SETUP_SECTS
root_flags:	dw 0
syssize:	dd PAYLOAD_BYTES / 16
ram_size:	dw 0
vid_mode:	dw 0xFFFF                ; "normal": no mode change
root_dev:	dw 0
boot_flag:	dw 0xAA55
jump:		jmp short real_entry     ; offset 0x200; its target marks the header's end
header:		db "HdrS"
version:	dw BOOT_VERSION
realmode_swtch:	dd 0
start_sys_seg:	dw 0x1000
kernel_version:	dw 0
type_of_loader:	db 0
loadflags:	db LOADED_HIGH | CAN_USE_HEAP
setup_move_size: dw 0x8000
code32_start:	dd CODE32_DEFAULT
ramdisk_image:	dd 0
ramdisk_size:	dd 0
bootsect_kludge: dd 0
heap_end_ptr:	dw 0
ext_loader_ver:	db 0
ext_loader_type: db 0
cmd_line_ptr:	dd 0
initrd_addr_max: dd 0x7FFFFFFF
kernel_alignment: dd KERNEL_ALIGN
relocatable_kernel: db 0                 ; linked at LINK_ADDR: it must run there
min_alignment:	db 21
xloadflags:	dw XLF_KERNEL_64
cmdline_size:	dd CMDLINE_MAX
hardware_subarch: dd 0
hardware_subarch_data: dq 0
payload_offset:	dd 0
payload_length:	dd 0
setup_data:	dq 0
pref_address:	dq LINK_ADDR
init_size:	dd INIT_BYTES
handover_offset: dd 0
%if $ - $$ != 0x268
%error "the setup header does not end at 0x268"
%endif

; ---- the real-mode entry: CS = setup segment + 0x20, DS = the setup segment ----
; Switch to 32-bit protected mode with flat segments, copy the protected-mode part from where
; the loader put it (code32_start) to LINK_ADDR, and enter it at offset 0 with ESI = this
; setup, which holds the header the loader filled in (cmd_line_ptr) and so serves as
; boot_params. The GDT pointer and the far jump hold linear addresses: patched here, since
; the loader chooses the setup segment.
real_entry:
	cli
	cld
	mov ax, cs
	sub ax, 0x20
	mov ds, ax
	movzx ebx, ax
	shl ebx, 4                       ; EBX = linear address of this setup
	lea eax, [ebx + gdt32]
	mov [gdt32_ptr + 2], eax
	lea eax, [ebx + pm_entry]
	mov [pm_jump], eax
	lgdt [gdt32_ptr]
	in al, PORT_SYS_CTRL_A
	or al, 2
	and al, 0xFE
	out PORT_SYS_CTRL_A, al
	mov eax, cr0
	or eax, CR0_PE
	mov cr0, eax
	jmp far dword [pm_jump]

	bits 32
pm_entry:
	mov ax, BOOT_DS32
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov fs, ax
	mov gs, ax
	mov esi, [ebx + code32_start]
	mov edi, LINK_ADDR
	mov ecx, PAYLOAD_BYTES / 4
	rep movsd
	mov esi, ebx
	xor ebp, ebp
	xor edi, edi
	mov eax, LINK_ADDR
	jmp eax

	align 8
gdt32:	dq 0, 0
	dq 0x00CF9A000000FFFF            ; 0x10: 32-bit code, flat
	dq 0x00CF92000000FFFF            ; 0x18: data, flat
gdt32_end:
gdt32_ptr:
	dw gdt32_end - gdt32 - 1
	dd 0
pm_jump:
	dd 0
	dw BOOT_CS32

	times (SETUP_SECTS + 1) * 512 - ($ - $$) db 0
