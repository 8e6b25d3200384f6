# slatvisor: build the hypervisor ELF, the bootable ISO, and run the tests.
# `make help` lists the targets and variables.

BUILD    ?= build
ISO      ?= $(BUILD)/slatvisor.iso
CC       := gcc
NASM     := nasm
LD       := ld

# What goes on the ISO's GRUB command lines (see docs/options.md).
HV_CMDLINE    ?=
GUEST_KERNEL  ?= $(BUILD)/guest/vmlinuz
GUEST_INITRD  ?= $(BUILD)/guest/initrd.img
GUEST_CMDLINE ?= console=ttyS0,115200
# Which Debian cloud kernel the bundled guest runs: a package name, NAME=VERSION, or a version
# (tools/fetch-guest-kernel); empty means Debian's current linux-image-cloud-amd64.
GUEST_KERNEL_PKG ?=
GRUB_TIMEOUT  ?= 0

KERNEL_CFLAGS := -std=c11 -O2 -g -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	-ffreestanding -fno-builtin -fno-stack-protector -fno-pic -fno-pie \
	-mno-red-zone -mgeneral-regs-only -mcmodel=small -fno-omit-frame-pointer \
	-fno-asynchronous-unwind-tables -MMD -MP -fdebug-prefix-map=$(CURDIR)=.
# No -g for NASM: its DWARF records the build directory, which would make the linker's build id
# (and so the image and, through the boot's instruction count, the benchmark's figures) depend on
# where the tree was checked out. gcc's paths are mapped away with -fdebug-prefix-map.
NASMFLAGS := -f elf64 -I $(BUILD)/inc/
LDFLAGS   := -n -nostdlib -z max-page-size=0x1000 -z noexecstack --build-id=sha1 -T linker.ld

KERNEL_C   := $(wildcard kernel/*.c arch/x86_64/*.c mm/*.c vmx/*.c shadow/*.c emul/*.c)
KERNEL_ASM := $(wildcard boot/*.asm arch/x86_64/*.asm vmx/*.asm)
KERNEL_OBJ := $(KERNEL_C:%.c=$(BUILD)/obj/%.o) $(KERNEL_ASM:%.asm=$(BUILD)/obj/%.asm.o)
# Headers whose '#define' block NASM includes too (one layout for C and assembly).
ASM_INC    := $(BUILD)/inc/frame.inc $(BUILD)/inc/trampoline.inc $(BUILD)/inc/vcpu.inc

# Host unit tests: the pure logic compiled for Linux, with sanitizers.
UNIT_SRC   := kernel/fmt.c kernel/cmdline.c kernel/diag.c kernel/multiboot2.c kernel/status.c \
	kernel/options.c mm/pmm.c mm/memmap.c mm/pt.c mm/mtrr.c arch/x86_64/acpi.c kernel/bzimage.c vmx/ept_map.c vmx/ept_view.c vmx/mon_ring.c vmx/insn.c vmx/power_decode.c vmx/event.c shadow/guest_walk.c shadow/spt_pool.c shadow/root_cache.c shadow/mmu.c shadow/roots.c $(wildcard emul/*.c) tests/unit/simmem.c
UNIT_TESTS := $(filter-out tests/unit/simmem.c,$(wildcard tests/unit/*.c))
# The interpreter's test programs, assembled flat (tests/unit/emul/).
UNIT_BIN   := $(patsubst tests/unit/emul/%.asm,$(BUILD)/unit/emul/%.bin,$(wildcard tests/unit/emul/*.asm))
UNIT_CFLAGS := -DSOURCE_DIR=\"$(CURDIR)\" -DEMUL_TEST_DIR=\"$(abspath $(BUILD))/unit/emul\" -std=c11 -O1 -g -Wall -Wextra -Werror -fsanitize=address,undefined \
	-fno-sanitize-recover=all -D_DEFAULT_SOURCE -DHOST_TEST

.PHONY: all iso guest test-guest unit test test-slow boot-test bench run run-bochs help clean

all: $(BUILD)/slatvisor.elf

NASM_INC_RULE = @mkdir -p $(@D); sed -n '/BEGIN NASM/,/END NASM/s/^\#define \([A-Z0-9_]*\) \(.*\)$$/%define \1 \2/p' $< > $@
$(BUILD)/inc/%.inc: arch/x86_64/%.h
	$(NASM_INC_RULE)
$(BUILD)/inc/%.inc: vmx/%.h
	$(NASM_INC_RULE)

.SECONDARY: $(ASM_INC)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC      $<"
	@$(CC) $(KERNEL_CFLAGS) -c $< -o $@

$(BUILD)/obj/%.asm.o: %.asm $(ASM_INC)
	@mkdir -p $(@D)
	@echo "  NASM    $<"
	@$(NASM) $(NASMFLAGS) $< -o $@

$(BUILD)/slatvisor.elf: $(KERNEL_OBJ) linker.ld
	@echo "  LD      $@"
	@$(LD) $(LDFLAGS) -o $@ $(KERNEL_OBJ)
	@grub-file --is-x86-multiboot2 $@ || { echo "$@ is not a Multiboot2 image" >&2; rm -f $@; exit 1; }

# The bundled guest: Debian's cloud kernel and a busybox initramfs (iso/initramfs/). The script
# runs every time, to follow GUEST_KERNEL_PKG; it leaves vmlinuz alone while the request holds.
$(BUILD)/guest/vmlinuz: FORCE
	@tools/fetch-guest-kernel $(GUEST_KERNEL_PKG)
$(BUILD)/guest/initrd.img: iso/initramfs/init $(wildcard iso/initramfs/src/*.[ch] iso/initramfs/ptlab/*) vmx/hypercall_abi.h tools/mkinitramfs
	tools/mkinitramfs
guest: $(BUILD)/guest/vmlinuz $(BUILD)/guest/initrd.img

iso: $(ISO)
$(ISO): $(BUILD)/slatvisor.elf iso/grub.cfg.in tools/mkiso $(GUEST_KERNEL) $(GUEST_INITRD) FORCE
	tools/mkiso --out $@ --elf $(BUILD)/slatvisor.elf --hv-cmdline "$(HV_CMDLINE)" \
		--kernel "$(GUEST_KERNEL)" --initrd "$(GUEST_INITRD)" \
		--guest-cmdline "$(GUEST_CMDLINE)" --timeout "$(GRUB_TIMEOUT)"
FORCE:

# The test guest (tests/guest/, docs/testing.md): a freestanding bzImage whose probes check
# that the machine behaves as the SDM says. setup.asm is assembled last, with the sizes of the
# linked protected-mode part. -fno-toplevel-reorder keeps each file's probes in the order written.
TG         := $(BUILD)/test-guest
TG_C       := $(wildcard tests/guest/*.c)
TG_OBJ     := $(TG_C:tests/guest/%.c=$(TG)/%.o) $(TG)/head.asm.o $(TG)/isr.asm.o $(TG)/paging_off.asm.o
TG_CFLAGS  := -std=c11 -O2 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -ffreestanding \
	-fno-builtin -fno-stack-protector -fno-pic -fno-pie -mno-red-zone -mgeneral-regs-only \
	-mcmodel=small -fno-asynchronous-unwind-tables -fno-toplevel-reorder -MMD -MP

$(TG)/%.o: tests/guest/%.c Makefile
	@mkdir -p $(@D)
	@echo "  CC      $<"
	@$(CC) $(TG_CFLAGS) -c $< -o $@

$(TG)/%.asm.o: tests/guest/%.asm
	@mkdir -p $(@D)
	@echo "  NASM    $<"
	@$(NASM) -f elf64 $< -o $@

$(TG)/kernel.elf: $(TG_OBJ) tests/guest/guest.ld
	@echo "  LD      $@"
	@$(LD) -n -nostdlib -z max-page-size=0x1000 -z noexecstack --build-id=none --no-warn-rwx-segments -T tests/guest/guest.ld -o $@ $(TG_OBJ)

$(TG)/bzImage: $(TG)/kernel.elf tests/guest/setup.asm
	@echo "  BZIMAGE $@"
	@objcopy -O binary $< $(TG)/kernel.bin
	@sym() { nm $< | awk -v s=$$1 '$$3 == s { print "0x" $$1 }'; }; \
	start=$$(sym _image_start); end=$$(sym _image_end); top=$$(sym _end); \
	size=$$((end - start)); \
	[ $$(stat -c %s $(TG)/kernel.bin) -le $$size ] || { echo "kernel.bin is longer than its sections" >&2; exit 1; }; \
	truncate -s $$size $(TG)/kernel.bin; \
	$(NASM) -f bin -D PAYLOAD_BYTES=$$size -D INIT_BYTES=$$((top - start)) -D LINK_ADDR=$$start \
		tests/guest/setup.asm -o $(TG)/setup.bin
	@cat $(TG)/setup.bin $(TG)/kernel.bin >$@

test-guest: $(TG)/bzImage

-include $(TG_OBJ:.o=.d)

$(BUILD)/unit/emul/%.bin: tests/unit/emul/%.asm
	@mkdir -p $(@D)
	$(NASM) -f bin $< -o $@

$(BUILD)/unit-tests: $(UNIT_SRC) $(UNIT_TESTS) $(UNIT_BIN) $(wildcard tests/unit/*.h) $(wildcard */*.h arch/x86_64/*.h)
	@mkdir -p $(@D)
	$(CC) $(UNIT_CFLAGS) -o $@ $(UNIT_SRC) $(UNIT_TESTS)

unit: $(BUILD)/unit-tests
	$(BUILD)/unit-tests

# Everything: host unit tests, then boot tests in Bochs and QEMU. Ends with "N passed, N failed".
test: $(TG)/bzImage $(BUILD)/slatvisor.elf $(BUILD)/unit-tests guest
	tests/run-all

boot-test: $(BUILD)/slatvisor.elf guest
	tests/run-all --boot-only

# The fuzzer in every mode: bochs_haswell_fuzz (also in make test) and the slow cases make test
# leaves out (names ending in _slow; today all are fuzzer runs).
test-slow: $(TG)/bzImage $(BUILD)/slatvisor.elf guest
	SLOW=1 tests/run-all --boot-only _slow

# The benchmark matrix (docs/benchmarks.md): results in $(BUILD)/bench/. BENCH=quick runs fewer
# iterations; BENCH_CPUS sets the CPUs per run.
BENCH      ?= full
BENCH_CPUS ?= 1
BENCH_OUT  ?= $(BUILD)/bench
bench: $(BUILD)/slatvisor.elf guest
	@case "$(BENCH)" in full|quick) ;; *) echo "make bench: BENCH=$(BENCH): use full or quick" >&2; exit 2 ;; esac
	GUEST_KERNEL_PKG="$(GUEST_KERNEL_PKG)" tools/bench $(if $(filter quick,$(BENCH)),--quick) --cpus $(BENCH_CPUS) --out $(BENCH_OUT)

# Boot the ISO in QEMU. With KVM and nested VT-x this is the real thing; without, it shows
# everything up to the VT-x check.
QEMU_ACCEL := $(shell [ -w /dev/kvm ] && grep -qw vmx /proc/cpuinfo && echo "-enable-kvm -cpu host" || echo "-cpu max")
run: iso
	qemu-system-x86_64 $(QEMU_ACCEL) -smp 4 -m 1024 -cdrom $(ISO) -serial stdio -display none -no-reboot

# Boot the ISO in Bochs (emulated VT-x); the serial log goes to the terminal and build/com1.log.
BOCHS_CPU ?= corei7_haswell_4770
BOCHS_CPUS ?= 2
run-bochs: iso
	tests/boot/emu --bochs --cpu $(BOCHS_CPU) --cpus $(BOCHS_CPUS) --iso $(ISO) \
		--log $(BUILD)/com1.log --timeout 3600 --follow

help:
	@echo "make            build $(BUILD)/slatvisor.elf"
	@echo "make iso        build $(ISO) (BIOS and UEFI); variables: HV_CMDLINE, GUEST_KERNEL,"
	@echo "                GUEST_INITRD, GUEST_CMDLINE, GRUB_TIMEOUT, ISO"
	@echo "make run        boot the ISO in QEMU (KVM with nested VT-x where available)"
	@echo "make run-bochs  boot the ISO in Bochs (BOCHS_CPU=model, BOCHS_CPUS=n)"
	@echo "make test-guest build build/test-guest/bzImage, the probe guest (docs/testing.md)"
	@echo "make unit       host unit tests"
	@echo "make test       unit tests and every boot test but the slow ones"
	@echo "make test-slow  the slow cases make test leaves out (*_slow): the fuzzer in its slower modes, Core 2 with 4 CPUs"
	@echo "make bench      the benchmark matrix in Bochs, report in $(BENCH_OUT)/ (BENCH=quick,"
	@echo "                BENCH_CPUS=n, BENCH_OUT=dir, GUEST_KERNEL_PKG=package[=version])"
	@echo "                tools/bench --compare DIR-A DIR-B compares two result directories"

clean:
	rm -rf $(BUILD)

-include $(KERNEL_OBJ:.o=.d)
