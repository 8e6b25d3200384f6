# cases.sh: the boot tests. Each case builds (or reuses) an ISO, boots it with tests/boot/emu
# and asserts on the serial log. Sourced by tests/run-all; `case_NAME` functions are the cases.

# A log line as slatvisor prints it: "[    1.234567] cpu3 ...".
LINE_RE='^\[ *[0-9]+\.[0-9]{6}\] cpu[0-9]+ '

# iso NAME MKISO-ARGS...: build build/test/NAME.iso once per run (cases run in parallel: lock).
iso() {
	local name=$1
	shift
	local out=$T/$name.iso
	(
		flock 9
		[ -f "$out" ] || tools/mkiso --out "$out" --elf build/slatvisor.elf "$@" >/dev/null
	) 9>"$T/.iso.lock"
	echo "$out"
}

# guest_iso NAME GUEST-CMDLINE [HV-CMDLINE]: the bundled Linux guest.
guest_iso() {
	iso "guest-$1" --kernel build/guest/vmlinuz --initrd build/guest/initrd.img \
		--guest-cmdline "console=ttyS0,115200 $2" --hv-cmdline "${3:-}"
}

# boot EMU-ARGS...: boot into $LOG, stopping at the end-of-boot or panic marker.
boot() {
	tests/boot/emu "$@" --log "$LOG" --until 'boot: complete|panic: system halted' ||
		fail "the emulator run did not reach the end of boot (exit $?)"
}

# Every line from slatvisor's banner on has a timestamp and a CPU number (until the guest runs
# and shares the console).
check_line_format() {
	local bad lines
	lines=$(tr -d '\r' <"$LOG" | sed -n '/\] cpu0 slatvisor /,/vmx: launching the guest/p')
	# The emulator may be stopped mid-line: a last line without its newline is not judged.
	[ -n "$(tail -c1 "$LOG")" ] && [ "$(tail -n1 "$LOG" | tr -d '\r')" = "$(printf '%s\n' "$lines" | tail -n1)" ] &&
		lines=$(printf '%s\n' "$lines" | sed '$d')
	bad=$(printf '%s\n' "$lines" | grep -Ev "$LINE_RE" | head -3)
	[ -z "$bad" ] || fail "log lines without timestamp and CPU: $bad"
	grep -q '\] cpu0 slatvisor ' "$LOG" || fail "no slatvisor banner"
}

# boot_guest EMU-ARGS...: boot until the machine powers itself off; stop early on any panic.
boot_guest() {
	tests/boot/emu "$@" --log "$LOG" --need 'power: powering off' \
		--fail 'Kernel panic|PANIC|guest: stopped|halted$' ||
		fail "the machine did not power off by itself (exit $?)"
}

# The guest's own report, the hypervisor's statistics and a clean power-off.
check_guest_ran() {
	expect "guest: nproc=$1\b"
	expect 'guest: hypervisor=slatvisor'
	expect 'guest: workload ok'
	# The build benchmark compiled ptlab with tcc and make, and it printed what the host build did.
	expect 'bench: build n=1 seconds=[0-9.]+'
	expect 'power: the guest powers off \(ACPI S5'
	expect 'stat exit CPUID count=[0-9]+ cycles=[0-9]+'
	expect 'stat: all vcpus'
	expect 'stat total exits=[0-9]+'
	expect 'power: powering off'
	reject '[^0-9] FAIL' # "memcheck: 8 ok, 0 FAIL" is the one FAIL allowed
	check_line_format
}

# The integrity workload (slat.memcheck=1) and the shadow engine's statistics.
check_memcheck_and_shadow() {
	for c in fork-cow mprotect-fault munmap-fault mremap madv-dontneed shared; do
		expect "memcheck: $c ok"
	done
	expect 'memcheck: thp ok \([1-9][0-9]* kB huge, split checked\)'
	expect "memcheck: threads-mmap ok \($1 thread"
	expect 'memcheck: 8 ok, 0 FAIL'
	expect 'stat shadow faults fill=[1-9][0-9]* guest=[1-9][0-9]* dirty=[0-9]+ unsync=[1-9]'
	expect 'stat shadow cr3 switches=[1-9][0-9]* root_hits=[1-9][0-9]* root_misses=[1-9]'
	expect 'stat shadow sync resyncs=[1-9][0-9]* pages_resynced=[1-9][0-9]* entries_zapped=[0-9]+ unsync_writes=[1-9][0-9]* unshadowed=[0-9]+'
	# A fault that came back at three exits in a row would be a slatvisor bug.
	expect 'stat shadow pool .* zap_alls=0'
	expect 'stat shadow pool pages=2048 used=[1-9]'
	expect 'ept: hypervisor image intact'
}

# The memcheck guest on shadow paging with KPTI as asked: its report, memcheck, the engine's counters.
shadow_boot() { # CPU-MODEL VCPUS TIMEOUT ISO-NAME PTI HV-CMDLINE [GUEST-OPTIONS]
	boot_guest --bochs --cpu "$1" --cpus "$2" --timeout "$3" \
		--iso "$(guest_iso "$4-pti$5" "pti=$5 slat.memcheck=1 ${7:-}" "$6")"
	check_guest_ran "$2"
	expect "guest: kpti=$5"
	check_memcheck_and_shadow "$2"
}

# With KPTI and no PCID, vCPUs were armed (their KPTI switches ran from the CR3-target list) and
# disarmed when tables went out of sync.
expect_armed() {
	expect 'stat shadow targets arms=[1-9][0-9]* disarms_unsync=[1-9][0-9]* '
}

# Core 2 (no EPT): shadow paging, EFER switched by MSR-load lists, one vCPU.
shadow_penryn() { # PTI [ISO-NAME HV-CMDLINE]
	shadow_boot core2_penryn_t9600 1 1200 "${2:-penryn}" "$1" "${3:-}"
	expect 'vmx: EPT off, VPID off, unrestricted guest off, EFER by MSR-load lists'
	expect 'vmx: this CPU has no usable EPT: guest paging runs on shadow page tables'
	expect 'shadow: vcpu0 turned paging on'
}
case_bochs_penryn_shadow_pti_on() {
	shadow_penryn on
	expect "vmx: shadow paging: 4 CR3-target values; KPTI's CR3 switches run without exits while armed"
	expect_armed
}
case_bochs_penryn_shadow_pti_off() { shadow_penryn off; }
# As a real Core 2: CR3 reads exit (cr3_store_exiting=always), CR3 writes still run from the list.
case_bochs_penryn_shadow_pti_on_cr3_store_always() {
	shadow_penryn on penryn-store cr3_store_exiting=always
	expect 'vmx: shadow paging: 4 CR3-target values; CR3 writes run from the target list, CR3 reads exit \(cr3_store_exiting=always\)'
	expect_armed
}

# Haswell with paging=shadow on 2 CPUs: the AP starts in real mode on the EPT (unrestricted guest)
# and moves to shadow tables when it turns paging on; TLB shootdowns between the vCPUs.
shadow_haswell() {
	shadow_boot corei7_haswell_4770 2 2400 hswshadow "$1" paging=shadow
	expect 'vmx: EPT off, VPID on, unrestricted guest on while guest paging is off'
	expect 'vmx: paging=shadow: guest paging runs on shadow page tables'
	expect 'vcpu1: started by the guest'
	expect 'shadow: vcpu1 turned paging on'
	reject 'failed to wakeup|has not answered a TLB shootdown'
}
case_bochs_haswell_shadow_2cpu_pti_on() { shadow_haswell on; }
case_bochs_haswell_shadow_2cpu_pti_off() { shadow_haswell off; }
# Without PCID (clearcpuid=145: X86_FEATURE_PCID, 4*32+17) the two vCPUs are armed; a table going out of sync on one kicks the other out of its
# target list before the writer resumes.
case_bochs_haswell_shadow_2cpu_pti_on_nopcid() {
	shadow_boot corei7_haswell_4770 2 2400 hswshadow-nopcid on paging=shadow clearcpuid=145
	expect 'vmx: paging=shadow: guest paging runs on shadow page tables'
	expect 'shadow: vcpu1 turned paging on'
	reject 'failed to wakeup|has not answered a TLB shootdown'
	expect_armed
	expect 'stat shadow targets .* disarms_remote=[1-9][0-9]* .* disarm_kicks=[1-9]'
}

# make bench's pipeline on one configuration (quick): the guest's figures, the exits by reason,
# the modeled time, the report and the chart. The numbers themselves are in docs/benchmarks.md.
case_bochs_bench_quick_core2() {
	local out=$T/bench-quick csv
	tools/bench --quick --only core2-on --out "$out" >"$LOG" 2>&1 || fail "tools/bench failed (exit $?)"
	csv=$out/results.csv
	[ "$(grep -c '^core2,core2_penryn_t9600,1,on,' "$csv")" = 5 ] || fail "results.csv: not 5 rows for core2-on"
	for t in getppid pipe forkexec mmap build; do
		# Each row: the guest's own line, and modeled = seconds + exits x 1270 / 10^8.
		awk -F, -v t=$t -v lg="$out/runs/core2-on.log" '
			$5 == t { found = 1
				want = sprintf("bench: %s n=%s seconds=%s ", t, $6, $7)
				cmd = "grep -c \"" want "\" \"" lg "\""; cmd | getline hits; close(cmd)
				d = $12 - ($7 + $9 * 1270 / 1e8)
				bad = hits != 1 || $7 <= 0 || $9 <= 0 || $11 != 1270 || d > 1e-5 || d < -1e-5 }
			END { exit bad || !found }' "$csv" || fail "results.csv: the $t row does not match the log or the model"
	done
	awk -F, 'NR > 1 { s += $6; n++ } END { exit !(n >= 3 && s > 0.99 && s < 1.01) }' "$out/exits.csv" ||
		fail "exits.csv: the cycle shares do not add up to 1"
	grep -q '^core2,on,CR_ACCESS,[1-9]' "$out/exits.csv" || fail "exits.csv: no CR access exits"
	grep -Eq '^\| shadow \(Core 2\) \| [0-9.]+ s \| - \| - \|$' "$out/report.md" ||
		fail "report.md: no build row for the Core 2"
	grep -q '<svg' "$out/bench.svg" || fail "bench.svg is not an SVG"
}

# Dummy modules for the module-listing cases.
mkdir -p "$T"
[ -f "$T/guest.bin" ] || head -c 65536 /dev/urandom >"$T/guest.bin"
: >"$T/empty.bin"

case_bochs_haswell_4cpu() {
	# Module #0 is random bytes: the loader must refuse it in words, and slatvisor halts cleanly.
	tests/boot/emu --log "$LOG" --until 'all CPUs halted|PANIC' \
		--bochs --cpu corei7_haswell_4770 --cpus 4 --timeout 300 \
		--iso "$(iso modules --hv-cmdline 'loglevel=debug no_such_option=1 maxcpus=lots' \
			--kernel "$T/guest.bin" --initrd "$T/empty.bin" --guest-cmdline 'console=ttyS0 quiet')" ||
		fail "no clean halt (exit $?)"
	expect 'smp: 4 of 4 CPUs online'
	expect 'lapic: xAPIC mode'
	expect "warning: cmdline: unknown option 'no_such_option=1'; ignored"
	expect 'warning: cmdline: option maxcpus=lots: expected a number'
	expect 'modules: #0 guest kernel at 0x[0-9a-f]+-0x[0-9a-f]+, 65536 bytes, string "console=ttyS0 quiet"'
	expect 'warning: modules: #1 \(initramfs\) is empty'
	expect 'debug: acpi: table APIC'
	for n in 1 2 3; do expect "cpu$n smp: online, APIC id $n"; done
	expect 'error: linux: module #0: not a Linux bzImage'
	expect 'linux: the guest cannot start; all CPUs halted'
	reject 'PANIC'
	check_line_format
}

# ---- the Linux guest (these take minutes each in Bochs) ----

# EPT, 2 vCPUs, and the isolation probe: the guest reads and writes slatvisor's image range.
case_bochs_haswell_guest_2cpu() {
	boot_guest --bochs --cpu corei7_haswell_4770 --cpus 2 --timeout 1500 \
		--iso "$(guest_iso probe 'slat.probe=1')"
	check_guest_ran 2
	expect 'vmx: EPT on, VPID on, unrestricted guest on'
	expect 'vmx: all 2 CPUs report the same VMX capabilities'
	expect 'vcpu1: started by the guest'
	# A 512 MiB guest needs fewer than 10 EPT pages (4 KiB pages only where MTRRs differ).
	expect 'ept: [1-9] paging-structure pages'
	expect 'memprobe: read 0x200000 bytes at 0x200000: 0 non-zero, hypervisor header absent, name absent'
	expect 'memprobe: wrote 4096 bytes at 0x200000'
	expect 'memprobe: ok'
	expect 'warning: ept: the guest read hypervisor memory at 0x200000'
	expect 'ept: hypervisor image intact'
}

case_bochs_haswell_guest_4cpu() {
	boot_guest --bochs --cpu corei7_haswell_4770 --cpus 4 --timeout 2400 --iso "$(guest_iso plain '')"
	check_guest_ran 4
	for n in 1 2 3; do expect "vcpu$n: started by the guest"; done
}

# Nehalem: EPT without unrestricted guest. One vCPU, and no time lost on CPUs that cannot start.
case_bochs_lynnfield_guest() {
	boot_guest --bochs --cpu corei5_lynnfield_750 --cpus 2 --timeout 1500 --iso "$(guest_iso plain '')"
	check_guest_ran 1
	expect 'vmx: EPT on, VPID on, unrestricted guest off'
	expect 'no unrestricted guest: the guest runs on one vCPU \(nr_cpus=1\)'
	expect 'linux: command line ".* nr_cpus=1"'
	reject 'failed to wakeup'
}

# QEMU's emulator has no VT-x: one clear line, then a clean halt.
case_qemu_no_vtx() {
	tests/boot/emu --qemu --cpus 2 --timeout 120 --iso "$(guest_iso plain '')" --log "$LOG" \
		--until 'all CPUs halted' || fail "no clean halt (exit $?)"
	expect 'error: vmx: VT-x is not available: this is not an Intel CPU with VMX|error: vmx: VT-x is not available: this CPU does not report VMX'
	expect 'vmx: no guest can run without VT-x; all CPUs halted'
	reject 'PANIC'
	check_line_format
}

# Core 2: VT-x without EPT, so shadow paging; with no guest kernel given, a clean halt.
case_bochs_penryn_2cpu() {
	tests/boot/emu --log "$LOG" --until 'all CPUs halted|PANIC' \
		--bochs --cpu core2_penryn_t9600 --cpus 2 --timeout 300 --iso "$(iso plain)" ||
		fail "no clean halt (exit $?)"
	expect 'smp: 2 of 2 CPUs online'
	expect 'lapic: xAPIC mode'
	expect 'largest pages 2 MiB' # Core 2 has no 1 GiB pages
	expect 'warning: modules: none given, so there is no guest kernel to launch'
	expect 'vmx: msr 0x48c IA32_VMX_EPT_VPID_CAP: not present on this CPU'
	expect 'vmx: this CPU has no usable EPT: guest paging runs on shadow page tables'
	expect 'shadow: 2048 shadow pages \(8192 KiB\)'
	expect 'linux: the guest cannot start; all CPUs halted'
	reject 'PANIC'
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
		--iso "$(iso panic --hv-cmdline 'test_fault=panic apic=x2apic')"
	expect 'lapic: x2APIC mode'
	expect 'error: PANIC: test_fault=panic: a deliberate panic'
	expect 'panic: stopped 1 of 1 other CPUs'
	expect 'rax [0-9a-f]{16}  rbx [0-9a-f]{16}'
	expect 'panic: system halted'
	check_line_format
}
