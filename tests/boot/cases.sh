# cases.sh: the boot tests. Each case builds (or reuses) an ISO, boots it with tests/boot/emu
# and asserts on the serial log. Sourced by tests/run-all; `case_NAME` functions are the cases.

# A log line as slatvisor prints it: "[    1.234567] cpu3 ...".
LINE_RE='^\[ *[0-9]+\.[0-9]{6}\] cpu[0-9]+ '

# iso NAME MKISO-ARGS...: build build/test/NAME.iso once per run.
iso() {
	local name=$1
	shift
	local out=$T/$name.iso
	[ -f "$out" ] || tools/mkiso --out "$out" --elf build/slatvisor.elf "$@" >/dev/null
	echo "$out"
}

# boot EMU-ARGS...: boot into $LOG, stopping at the end-of-boot or panic marker.
boot() {
	tests/boot/emu "$@" --log "$LOG" --until 'boot: complete|panic: system halted' ||
		fail "the emulator run did not reach the end of boot (exit $?)"
}

# Every line from slatvisor's banner on has a timestamp and a CPU number.
check_line_format() {
	local bad
	bad=$(tr -d '\r' <"$LOG" | sed -n '/\] cpu0 slatvisor /,$p' | grep -Ev "$LINE_RE" | head -3)
	[ -z "$bad" ] || fail "log lines without timestamp and CPU: $bad"
	grep -q '\] cpu0 slatvisor ' "$LOG" || fail "no slatvisor banner"
}

dummy_modules() {
	[ -f "$T/guest.bin" ] || head -c 65536 /dev/urandom >"$T/guest.bin"
	: >"$T/empty.bin"
}

case_bochs_haswell_4cpu() {
	dummy_modules
	boot --bochs --cpu corei7_haswell_4770 --cpus 4 --timeout 300 \
		--iso "$(iso modules --hv-cmdline 'loglevel=debug no_such_option=1 maxcpus=lots' \
			--kernel "$T/guest.bin" --initrd "$T/empty.bin" --guest-cmdline 'console=ttyS0 quiet')"
	expect 'smp: 4 of 4 CPUs online'
	expect 'lapic: x2APIC mode'
	expect "warning: cmdline: unknown option 'no_such_option=1'; ignored"
	expect 'warning: cmdline: option maxcpus=lots: expected a number'
	expect 'modules: #0 guest kernel at 0x[0-9a-f]+-0x[0-9a-f]+, 65536 bytes, string "console=ttyS0 quiet"'
	expect 'warning: modules: #1 \(initramfs\) is empty'
	expect 'debug: acpi: table APIC'
	for n in 1 2 3; do expect "cpu$n smp: online, APIC id $n"; done
	check_line_format
}

case_bochs_penryn_2cpu() {
	boot --bochs --cpu core2_penryn_t9600 --cpus 2 --timeout 300 --iso "$(iso plain)"
	expect 'smp: 2 of 2 CPUs online'
	expect 'lapic: xAPIC mode'
	expect 'largest pages 2 MiB' # Core 2 has no 1 GiB pages
	expect 'warning: modules: none given, so there is no guest kernel to launch'
	check_line_format
}

case_qemu_bios_4cpu() {
	boot --qemu --cpus 4 --timeout 120 --iso "$(iso plain)"
	expect 'smp: 4 of 4 CPUs online'
	expect 'acpi: MADT lists 4 enabled CPUs'
	check_line_format
}

case_qemu_uefi_4cpu() {
	boot --qemu-uefi --cpus 4 --timeout 240 --iso "$(iso plain)"
	expect 'smp: 4 of 4 CPUs online'
	expect 'acpi: RSDP from the loader.s copy, revision 2'
	check_line_format
}

case_qemu_maxcpus() {
	boot --qemu --cpus 4 --timeout 120 --iso "$(iso maxcpus --hv-cmdline 'maxcpus=2')"
	expect 'smp: 2 CPUs left off by maxcpus=2'
	expect 'smp: 2 of 4 CPUs online'
	check_line_format
}

# A deliberate page fault: a decoded exception, registers, a stack trace, all CPUs stopped.
case_qemu_fault_pagefault() {
	boot --qemu --cpus 4 --timeout 120 --iso "$(iso pagefault --hv-cmdline 'test_fault=pagefault')"
	expect 'error: PANIC: page fault \(#PF\) in the hypervisor: vector 14, error code 0x0, rip 0x[0-9a-f]+, cr2 0x400000000000 \(read not-present\)'
	expect 'panic: stopped 3 of 3 other CPUs'
	expect 'rip [0-9a-f]{16}  rsp [0-9a-f]{16}'
	expect 'cr0 [0-9a-f]{16}  cr2 0000400000000000'
	expect 'stack trace'
	expect '    #0 0x[0-9a-f]+'
	expect 'panic: system halted'
	reject 'boot: complete'
	check_line_format
}

# The same through x2APIC in Bochs, from an explicit panic().
case_bochs_fault_panic() {
	boot --bochs --cpu corei7_haswell_4770 --cpus 2 --timeout 300 \
		--iso "$(iso panic --hv-cmdline 'test_fault=panic')"
	expect 'error: PANIC: test_fault=panic: a deliberate panic'
	expect 'panic: stopped 1 of 1 other CPUs'
	expect 'rax [0-9a-f]{16}  rbx [0-9a-f]{16}'
	expect 'panic: system halted'
	check_line_format
}
