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

# elf_checksum: the image checksum slatvisor must print, computed from build/slatvisor.elf on the
# host: the same rotate-and-xor over every 8 bytes of the loaded image up to _readonly_end.
elf_checksum() {
	local img sum=0 w start end
	img=$(mktemp)
	objcopy -O binary build/slatvisor.elf "$img"
	start=$(nm build/slatvisor.elf | awk '$3 == "_kernel_start" { print "0x" $1 }')
	end=$(nm build/slatvisor.elf | awk '$3 == "_readonly_end" { print "0x" $1 }')
	while read -r w; do
		sum=$((((sum << 1) | ((sum >> 63) & 1)) ^ 0x$w))
	done < <(head -c $((end - start)) "$img" | od -An -v -t x8 -w8)
	rm -f "$img"
	printf '0x%016x\n' "$sum"
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
	# Read-only from boot to power-off, and exactly the ELF's bytes.
	expect "image: intact at the end \(checksum $(elf_checksum), as at boot\)"
	reject '[^0-9] FAIL' # "memcheck: 8 ok, 0 FAIL" is the one FAIL allowed
	check_line_format
}

# The integrity workload (slat.memcheck=1), its thread test on VCPUS CPUs.
check_memcheck() { # VCPUS
	for c in fork-cow mprotect-fault munmap-fault mremap madv-dontneed shared; do
		expect "memcheck: $c ok"
	done
	expect 'memcheck: thp ok \([1-9][0-9]* kB huge, split checked\)'
	expect "memcheck: threads-mmap ok \($1 thread"
	expect 'memcheck: 8 ok, 0 FAIL'
}

# The integrity workload and the shadow engine's statistics.
check_memcheck_and_shadow() {
	check_memcheck "$1"
	expect 'stat shadow faults fill=[1-9][0-9]* guest=[1-9][0-9]* dirty=[0-9]+ unsync=[1-9]'
	expect 'stat shadow cr3 switches=[1-9][0-9]* root_hits=[1-9][0-9]* root_misses=[1-9]'
	expect 'stat shadow sync resyncs=[1-9][0-9]* pages_resynced=[1-9][0-9]* entries_zapped=[0-9]+ unsync_writes=[1-9][0-9]* unshadowed=[0-9]+'
	# A fault that came back at three exits in a row would be a slatvisor bug.
	expect 'stat shadow pool .* zap_alls=0'
	expect 'stat shadow pool pages=2048 used=[1-9]'
}

# The memcheck guest on shadow paging with KPTI as asked: its report, memcheck, the engine's counters.
shadow_boot() { # CPU-MODEL VCPUS TIMEOUT ISO-NAME PTI HV-CMDLINE [GUEST-OPTIONS]
	boot_guest --bochs --cpu "$1" --cpus "$2" --timeout "$3" \
		--iso "$(guest_iso "$4-pti$5" "pti=$5 slat.memcheck=1 ${7:-}" "$6")"
	check_guest_ran "$2"
	expect "guest: kpti=$5"
	check_memcheck_and_shadow "$2"
}

# Without unrestricted guest, each AP's real-mode start-up code ran in the interpreter up to the
# VM entry in compatibility mode (CS 0x08 of Linux's trampoline GDT), on every AP.
check_aps_interpreted() { # VCPUS
	local n
	for ((n = 1; n < $1; n++)); do
		expect "vcpu$n: the interpreter ran [0-9]+ instructions from SIPI vector 0x[0-9a-f]{2} to VM entry at 0008:"
	done
	reject 'failed to wakeup|start-up code stopped in the interpreter|has not answered a TLB shootdown'
}

# With KPTI and no PCID, vCPUs were armed (their KPTI switches ran from the CR3-target list) and
# disarmed when tables went out of sync.
expect_armed() {
	expect 'stat shadow targets arms=[1-9][0-9]* disarms_unsync=[1-9][0-9]* '
}

# Core 2 (no EPT): shadow paging, EFER switched by MSR-load lists, VCPUS vCPUs.
shadow_penryn() { # PTI VCPUS TIMEOUT [ISO-NAME HV-CMDLINE]
	shadow_boot core2_penryn_t9600 "$2" "$3" "${4:-penryn$2}" "$1" "${5:-}"
	expect 'vmx: EPT off, VPID off, unrestricted guest off, EFER by MSR-load lists'
	expect 'vmx: this CPU has no usable EPT: guest paging runs on shadow page tables'
	expect "shadow: vcpu$(($2 - 1)) turned paging on"
	check_aps_interpreted "$2"
}

# Core 2 on 2 and 4 CPUs: every CPU is a vCPU, each AP's start-up code run in the interpreter, with
# KPTI on and off. The 4-CPU boots are slow (make test-slow).
case_bochs_penryn_2cpu_pti_on() { shadow_penryn on 2 1500 penryn2; }
case_bochs_penryn_2cpu_pti_off() { shadow_penryn off 2 1500 penryn2; }
case_bochs_penryn_4cpu_pti_on_slow() { shadow_penryn on 4 2400 penryn4; }
case_bochs_penryn_4cpu_pti_off_slow() { shadow_penryn off 4 2400 penryn4; }
case_bochs_penryn_shadow_pti_on() {
	shadow_penryn on 1 1200
	expect "vmx: shadow paging: 4 CR3-target values; KPTI's CR3 switches run without exits while armed"
	expect_armed
}
case_bochs_penryn_shadow_pti_off() { shadow_penryn off 1 1200; }
# As a real Core 2: CR3 reads exit (cr3_store_exiting=always), CR3 writes still run from the list.
case_bochs_penryn_shadow_pti_on_cr3_store_always() {
	shadow_penryn on 1 1200 penryn-store cr3_store_exiting=always
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
	check_bench_provenance "$out" core2-on
}

# check_bench_provenance DIR RUN: the provenance names the kernel the guest itself reported, the
# bzImage and initramfs that were booted, and the Bochs that ran them; --compare accepts the
# directory against itself.
check_bench_provenance() {
	local out=$1 run=$2 uname sum
	uname=$(tr -d '\r' <"$out/runs/$run.log" | sed -n 's/.*guest: slatvisor test guest, kernel //p' | head -n1)
	[ -n "$uname" ] || fail "the guest did not print its kernel release"
	grep -qxF "# run.$run.guest_uname=$uname" "$out/results.csv" || fail "results.csv does not name the guest's kernel $uname"
	grep -qF "uname -r as the guest printed it: $uname |" "$out/report.md" || fail "report.md does not name the guest's kernel $uname"
	grep -qF "($uname)" "$out/bench.svg" || fail "the chart's caption does not name the guest's kernel $uname"
	# The package behind that release: Debian names its kernel packages linux-image-RELEASE.
	grep -qxF "# guest.kernel.package=linux-image-$uname" "$out/results.csv" ||
		fail "results.csv names another kernel package than linux-image-$uname"
	sum=$(sha256sum <build/guest/vmlinuz | cut -d' ' -f1)
	grep -qxF "# guest.kernel.sha256=$sum" "$out/results.csv" || fail "results.csv: not the bzImage's SHA-256"
	sum=$(sha256sum <build/guest/initrd.img | cut -d' ' -f1)
	grep -qxF "# guest.initrd.sha256=$sum" "$out/results.csv" || fail "results.csv: not the initramfs's SHA-256"
	grep -qE '^# guest\.initrd\.file\./usr/bin/tcc=[0-9a-f]{64} tcc=' "$out/results.csv" || fail "results.csv: no tcc with its package"
	grep -qxF "# bochs.version=$(dpkg-query -W -f='${Version}' bochs)" "$out/results.csv" || fail "results.csv: not this Bochs"
	grep -qxF "# run.$run.cpu_model=core2_penryn_t9600" "$out/results.csv" || fail "results.csv: no CPU model for $run"
	grep -q '=mixed: ' "$out/results.csv" && fail "one run gave mixed provenance"
	tools/bench --compare "$out" "$out" >"$T/compare.out" 2>&1 || fail "--compare refused a directory against itself"
	grep -q 'byte-identical' "$T/compare.out" || fail "--compare did not see identical results"
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

# ---- the test guest (tests/guest/, docs/testing.md) ----

# slatvisor's own probes, each asserting what the SDM says the machine does: every probe must
# print "ok", the summary must count no failure, and the guest must power itself off with the
# hypervisor's image intact. hvmem_fill=on gives mem_isolation the pattern to look for in
# slatvisor's free memory. test_guest CPU NCPUS NAME GUEST_CMDLINE [HV_CMDLINE]
test_guest() {
	boot_guest --bochs --cpu "$1" --cpus "$2" --timeout 900 \
		--iso "$(iso "$3" --kernel build/test-guest/bzImage --guest-cmdline "$4" --hv-cmdline "hvmem_fill=on ${5:-}")"
	reject '^FAIL'
	expect '^test-guest: [1-9][0-9]* passed, 0 failed'
	local n ok
	n=$(tr -d '\r' <"$LOG" | sed -En 's/^test-guest: ([0-9]+) passed, 0 failed$/\1/p')
	ok=$(tr -d '\r' <"$LOG" | grep -c '^ok ')
	[ "${n:-0}" = "$ok" ] || fail "the summary counts ${n:-no} passed, the log has $ok ok lines"
	expect 'power: the guest powers off \(ACPI S5'
	expect 'image: intact at the end'
	expect 'mm: hvmem_fill: [0-9]+ KiB of free hypervisor memory filled'
	reject 'PANIC'
}
# EPT with 2 vCPUs, shadow paging on the CPU without EPT, and shadow paging chosen on Haswell.
case_bochs_haswell_test_guest() { test_guest corei7_haswell_4770 2 tg-hsw 'test=all'; }
case_bochs_core2_test_guest() { test_guest core2_penryn_t9600 1 tg-core2 'test=all'; }
case_bochs_haswell_shadow_test_guest() { test_guest corei7_haswell_4770 2 tg-hswsh 'test=all' paging=shadow; }
# Nehalem: EPT without unrestricted guest, so vcpu1's start-up code (init_sipi_storm) is interpreted.
case_bochs_lynnfield_test_guest() { test_guest corei5_lynnfield_750 2 tg-lyn 'test=all'; }
# A vCPU started at a vector holding garbage (UD2): on Nehalem (EPT, no unrestricted guest)
# slatvisor interprets the start-up code, stops that vCPU with its bytes, and the rest goes on.
case_bochs_lynnfield_test_guest_sipi_garbage() {
	test_guest corei5_lynnfield_750 2 tg-lyn-sg 'test=sipi_garbage,cr0_reserved'
	expect 'vcpu1: start-up code stopped in the interpreter: an instruction it does not interpret at [0-9a-f]{4}:00000000 after 0 instructions; bytes 0f 0b .*; this vCPU is stopped, the others go on'
	expect '^ok cr0_reserved'
}
# A guest that triple-faults is reported with its registers and stopped, also on a CPU without
# the guest IA32_EFER field (Core 2): reading that field there made the report a panic.
case_bochs_core2_test_guest_triple_fault() {
	tests/boot/emu --bochs --cpu core2_penryn_t9600 --cpus 1 --timeout 300 --log "$LOG" --until 'guest: stopped|PANIC' \
		--iso "$(iso tg-core2-tf --kernel build/test-guest/bzImage --guest-cmdline 'test=cr0_reserved end=triple_fault')" ||
		fail "the run did not end in a stopped guest (exit $?)"
	expect '^test-guest: 1 passed, 0 failed'
	expect 'test-guest: ending with a triple fault'
	expect 'vcpu0: rip 0x[0-9a-f]+ .* efer 0x500'
	expect 'guest: triple fault on vcpu0; the guest is stopped'
	expect 'stat exit TRIPLE_FAULT count=1 '
	expect 'image: intact at the end'
	reject 'PANIC'
}
# Shadow paging: a double fault whose delivery faults is a triple fault that slatvisor itself
# recognises (the CPU only ever sees one #PF at a time). Before, the #PF was injected forever.
# Under EPT the CPU itself shuts down and exits (TRIPLE_FAULT). df_triple_fault CPU NAME HOW [HV_CMDLINE]
df_triple_fault() {
	tests/boot/emu --bochs --cpu "$1" --cpus 1 --timeout 300 --log "$LOG" --until 'guest: stopped|PANIC' \
		--iso "$(iso "$2" --kernel build/test-guest/bzImage --guest-cmdline 'test=double_fault end=df_triple_fault' --hv-cmdline "${4:-}")" ||
		fail "the run did not end in a stopped guest (exit $?)"
	expect '^ok double_fault'
	expect 'test-guest: ending with a double fault that faults'
	expect 'vcpu0: rip 0x[0-9a-f]+ rsp 0x400000000000 '
	expect "guest: triple fault on vcpu0$3; the guest is stopped"
	expect 'stat total exits='
	expect 'image: intact at the end'
	reject 'PANIC'
}
case_bochs_core2_test_guest_df_triple_fault() {
	df_triple_fault core2_penryn_t9600 tg-core2-dftf ' \(a fault while its double fault was delivered\)'
}
case_bochs_haswell_shadow_test_guest_df_triple_fault() {
	df_triple_fault corei7_haswell_4770 tg-hswsh-dftf ' \(a fault while its double fault was delivered\)' paging=shadow
}
case_bochs_haswell_test_guest_df_triple_fault() {
	df_triple_fault corei7_haswell_4770 tg-hsw-dftf ''
	expect 'stat exit TRIPLE_FAULT count=1 '
}

# ---- the test guest's fuzzer (tests/guest/fuzz*.c; docs/testing.md) ----

# fuzz_guest CPU NAME SEED N [HV_CMDLINE]: one vCPU runs N operations from SEED; nothing
# impossible happened, every operation ran, and the guest powered itself off. FUZZ_CPUS
# (default 1) sets the machine's CPUs: the test guest starts none of the others, so with two
# slatvisor keeps the APIC page trapped and decodes each of the fuzzer's APIC accesses.
fuzz_guest() {
	boot_guest --bochs --cpu "$1" --cpus "${FUZZ_CPUS:-1}" --timeout 2400 \
		--iso "$(iso "$2" --kernel build/test-guest/bzImage --guest-cmdline "test=fuzz seed=$3 n=$4" --hv-cmdline "${5:-}")"
	reject '^FAIL'
	expect "^fuzz: seed $3, $4 operations, [0-9]+ faulted, [0-9]+ completed"
	expect '^fuzz: kind pt [1-9][0-9]* ops [0-9]+ faults 0 skipped'
	expect '^test-guest: 1 passed, 0 failed'
	expect 'power: the guest powers off \(ACPI S5'
	expect 'power: powering off'
	expect 'image: intact at the end'
	reject 'PANIC'
}
case_bochs_haswell_fuzz() { fuzz_guest corei7_haswell_4770 fuzz-hsw 1 100000; }
# Slow (make test-slow): Core 2 without EPT, and Haswell with shadow paging.
case_bochs_core2_fuzz_slow() { fuzz_guest core2_penryn_t9600 fuzz-core2 1 100000; }
case_bochs_haswell_shadow_fuzz_slow() { fuzz_guest corei7_haswell_4770 fuzz-hswsh 1 100000 paging=shadow; }
# Two CPUs: the APIC page stays trapped (EPT read-only on Haswell; read-only shadow entries on
# Core 2).
fuzz_trapped_apic() { # CPU NAME [HV_CMDLINE]
	FUZZ_CPUS=2 fuzz_guest "$1" "$2" 1 100000 "${3:-}"
	expect "vmx: the guest's local APIC page 0x[0-9a-f]+ is trapped until it has started its 1 other CPUs"
	reject 'every vCPU is started'
}
case_bochs_haswell_2cpu_fuzz_slow() { fuzz_trapped_apic corei7_haswell_4770 fuzz-hsw2; }
case_bochs_core2_2cpu_fuzz_slow() { fuzz_trapped_apic core2_penryn_t9600 fuzz-core2-2; }

# ---- the Linux guest (these take minutes each in Bochs) ----

# CPU hotplug: the guest takes CPU 1 offline and online 20 times, then runs memcheck on both CPUs.
# Each time slatvisor saw the halt and started the vCPU again (1 start at boot, 20 after).
hotplug_guest() { # CPU-MODEL ISO-NAME [HV-CMDLINE]
	boot_guest --bochs --cpu "$1" --cpus 2 --timeout 2400 \
		--iso "$(guest_iso "$2" "pti=on slat.memcheck=1 slat.hotplug=20" "${3:-}")"
	check_guest_ran 2
	check_memcheck 2
	expect 'guest: hotplug cpu1 offline and online 20 times'
	expect 'guest: hotplug done, nproc=2'
	# 20 times offline, and maybe once more: the guest's power-off parks its other CPUs the same way.
	expect 'stat vcpu1 starts=21 offline=2[01]\b'
	reject 'failed to wakeup|stopped in the interpreter|has not answered a TLB shootdown|CPU1 failed to report alive'
}
case_bochs_lynnfield_hotplug() { hotplug_guest corei5_lynnfield_750 lynnfield-hotplug; }
case_bochs_penryn_hotplug() { hotplug_guest core2_penryn_t9600 penryn-hotplug; }
case_bochs_haswell_hotplug() { hotplug_guest corei7_haswell_4770 haswell-hotplug; }
case_bochs_haswell_shadow_hotplug_slow() { hotplug_guest corei7_haswell_4770 haswell-shadow-hotplug paging=shadow; }

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
}

# Guest memory monitoring (docs/hypercalls.md): slatmon's self-test in the Linux guest, on EPT with
# 2 vCPUs. Exact event counts by kind, address and RIP, a monitor for vCPU 1 only, 1,000 adds and
# removes, both CPUs writing a watched page while monitors come and go, and every bad argument.
# Afterwards no monitor and no private page is left, and the shared EPT is as it was before.
monitor_guest() {
	boot_guest --bochs --cpu corei7_haswell_4770 --cpus 2 --timeout 1500 \
		--iso "$(guest_iso monitor 'pti=on slat.monitor_test=1' monitor_cpl3=1)"
	check_guest_ran 2
	expect 'monitor: ready: a pool of 256 private EPT pages'
	expect '^slatmon: ok exact \(10 R, 10 W, 10 X records\)'
	expect '^slatmon: ok per-cpu'
	expect '^slatmon: ok smp \(1000 writes on each CPU'
	expect '^slatmon: selftest [1-9][0-9]* passed, 0 failed'
	reject '^slatmon: FAIL'
	expect 'stat monitor: monitors=0 events=[1-9][0-9]* dropped=0 '
	expect 'stat monitor: shared EPT pages=([0-9]+) \(\1 before monitoring\); pool 256 pages, 256 free'
	expect 'stat monitor vcpu0: private_pages=0 peak=[1-9]'
	expect 'stat monitor vcpu1: private_pages=0 peak=[1-9]'
}
# Bochs 2.7 has no monitor trap flag: each watched access is stepped with RFLAGS.TF.
case_bochs_haswell_monitor() {
	monitor_guest
	expect 'monitor: ready: .*steps by RFLAGS.TF with #DB intercepted \(no monitor trap flag\)'
}
# Debian 13's Bochs 3.0 (tools/fetch-bochs3, from Debian's registry into build/bochs3) has it.
case_bochs3_haswell_monitor_mtf() {
	tools/fetch-bochs3 >"$LOG.fetch" 2>&1 || fail "tools/fetch-bochs3 failed: $(tail -n 1 "$LOG.fetch")"
	BOCHS=build/bochs3/bin/bochs monitor_guest
	expect 'monitor: ready: .*steps by the monitor trap flag'
}

case_bochs_haswell_guest_4cpu() {
	boot_guest --bochs --cpu corei7_haswell_4770 --cpus 4 --timeout 2400 --iso "$(guest_iso plain '')"
	check_guest_ran 4
	for n in 1 2 3; do expect "vcpu$n: started by the guest"; done
}

# Nehalem: EPT without unrestricted guest. The AP starts in the interpreter, then runs on the EPT.
lynnfield_smp() { # PTI
	boot_guest --bochs --cpu corei5_lynnfield_750 --cpus 2 --timeout 2400 \
		--iso "$(guest_iso "lynnfield-pti$1" "pti=$1 slat.memcheck=1")"
	check_guest_ran 2
	expect "guest: kpti=$1"
	check_memcheck 2
	expect 'vmx: EPT on, VPID on, unrestricted guest off'
	check_aps_interpreted 2
	reject 'nr_cpus=1'
}
case_bochs_lynnfield_guest_pti_on() { lynnfield_smp on; }
case_bochs_lynnfield_guest_pti_off() { lynnfield_smp off; }

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

# A write into slatvisor's own code: .text is read-only (CR0.WP on), so it ends in the #PF panic.
fault_code() { # EMU-ARGS...
	boot "$@" --iso "$(iso code --hv-cmdline 'test_fault=code')"
	local at
	at=$(sed -n "s/.*test: writing into slatvisor's own code at \(0x[0-9a-f]*\) (test_fault=code).*/\1/p" "$LOG" | head -n1)
	[ -n "$at" ] || fail "no test line naming the address written"
	expect "error: PANIC: page fault \(#PF\) in the hypervisor: vector 14, error code 0x3, rip 0x[0-9a-f]+, cr2 ${at:-none} \(write protection\)"
	expect 'stack trace'
	expect 'panic: system halted'
	reject 'boot: complete'
	check_line_format
}
case_qemu_fault_code() { fault_code --qemu --cpus 2 --timeout 120; }
case_bochs_fault_code() { fault_code --bochs --cpu core2_penryn_t9600 --cpus 2 --timeout 300; }

# A stack overflow in root mode: the guard page below the stack, a #DF on its IST stack, a panic
# that names the CPU and the stack.
case_qemu_fault_stack() {
	boot --qemu --cpus 2 --timeout 120 --iso "$(iso stack --hv-cmdline 'test_fault=stack')"
	expect 'test: recursing until this CPU.s stack overflows'
	expect "error: PANIC: stack overflow: cpu0's kernel stack ran into its guard page at 0x[0-9a-f]+ \((double fault \(#DF\)|page fault \(#PF\)), rip 0x[0-9a-f]+\)"
	expect 'panic: system halted'
	reject 'no overflow after'
	check_line_format
}

# W^X as the page tables hold it, and one image checksum for one ELF: three boots that differ in
# CPU model, paging mode and guest command line print the same build id and checksum, the one
# computed from the ELF on the host.
case_bochs_image_checksum() {
	local want lines=() cfg cpu hv gcmd n=0
	want=$(elf_checksum)
	for cfg in "corei7_haswell_4770|paging=ept loglevel=debug|quiet" \
		"core2_penryn_t9600|paging=auto|pti=off nokaslr" \
		"corei7_haswell_4770|paging=shadow|pti=on slat.memcheck=1 mitigations=off"; do
		IFS='|' read -r cpu hv gcmd <<<"$cfg"
		n=$((n + 1))
		tests/boot/emu --bochs --cpu "$cpu" --cpus 1 --timeout 300 --log "$LOG.$n" \
			--until 'vmx: launching the guest|PANIC' --iso "$(guest_iso "sum$n" "$gcmd" "$hv")" ||
			fail "boot $n ($cpu, $hv) did not reach the guest's launch"
		lines+=("$(tr -d '\r' <"$LOG.$n" | sed -n 's/.*cpu0 \(image: build id .*\)/\1/p')")
		grep -q 'PANIC' "$LOG.$n" && fail "boot $n ($cpu, $hv) panicked"
	done
	cat "$LOG.1" >"$LOG"
	[ -n "${lines[0]}" ] || fail "no image line at boot"
	[ "${lines[0]}" = "${lines[1]}" ] && [ "${lines[1]}" = "${lines[2]}" ] ||
		fail "the image lines differ: '${lines[0]}' / '${lines[1]}' / '${lines[2]}'"
	[[ "${lines[0]}" == *"checksum $want over .text and .rodata"* ]] ||
		fail "the checksum is not the ELF's ($want): ${lines[0]}"
	expect 'paging: image W\^X: .text read-only, .rodata read-only and not executable, data not executable; [1-9][0-9]* guard pages; CR0.WP on, EFER.NXE on'
	expect 'debug: paging: 0000000000200000-[0-9a-f]+ r-x .text'
	expect 'debug: paging: [0-9a-f]+-[0-9a-f]+ r-- .rodata'
	expect 'debug: paging: [0-9a-f]+-[0-9a-f]+ rw- .data/.bss'
	expect 'debug: paging: [0-9a-f]+-[0-9a-f]+ --- \(unmapped: guard page or boot tables\)'
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
