# bench-provenance.sh: what a benchmark's figures depend on, as key=value lines. Sourced by
# tools/bench (which writes it) and tools/bench-compare (which reads it); docs/benchmarks.md
# lists the keys.
#
# Keys under slatvisor.* describe the hypervisor that was measured. Every other key is an input
# of the bench itself: the guest kernel, the initramfs, Bochs and its settings, the guest command
# line; run.MODE-PTI.* keys belong to one run. Two result sets compare only when all the bench's
# inputs agree.

# prov_commit: the slatvisor commit, with -dirty when tracked files differ from it.
prov_commit() {
	local c
	c=$(git -C "$top" rev-parse --short=12 HEAD 2>/dev/null) || { echo unknown; return; }
	git -C "$top" diff --quiet HEAD -- 2>/dev/null || c+=-dirty
	echo "$c"
}

# prov_pkg PACKAGE: its installed Debian version, or "not installed".
prov_pkg() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "not installed"; }

# prov_info FILE KEY: KEY's value in a key=value FILE, or "unknown".
prov_info() { sed -n "s/^$2=//p" "$1" 2>/dev/null | grep . || echo unknown; }

# prov_inputs ELF KERNEL INITRD IPS MEGS: the inputs every run of this invocation shares.
prov_inputs() {
	local elf=$1 kernel=$2 initrd=$3 sum info=$2.info manifest=$3.manifest
	echo "slatvisor.commit=$(prov_commit)"
	# The loaded image, not the ELF: debug information names the build directory.
	# objcopy writes through a temporary file that it renames: give it a real one.
	local img
	img=$(mktemp)
	objcopy -O binary "$elf" "$img"
	echo "slatvisor.image_sha256=$(sha256sum <"$img" | cut -d' ' -f1)"
	rm -f "$img"
	sum=$(sha256sum <"$kernel" | cut -d' ' -f1)
	echo "guest.kernel.sha256=$sum"
	# Package and version come from what tools/fetch-guest-kernel recorded, if it is this file.
	if [ "$(prov_info "$info" sha256)" = "$sum" ]; then
		echo "guest.kernel.package=$(prov_info "$info" package)"
		echo "guest.kernel.version=$(prov_info "$info" version)"
	else
		echo "guest.kernel.package=unknown (not fetched by tools/fetch-guest-kernel)"
		echo "guest.kernel.version=unknown"
	fi
	sum=$(sha256sum <"$initrd" | cut -d' ' -f1)
	echo "guest.initrd.sha256=$sum"
	if [ "$(sed -n 's/^image //p' "$manifest" 2>/dev/null)" = "$sum" ]; then
		sed -n 's/^builder /guest.initrd.builder=/p' "$manifest"
		# "file PATH SHA256 PACKAGE=VERSION" -> guest.initrd.file.PATH=SHA256 PACKAGE=VERSION
		sed -n 's/^file \([^ ]*\) /guest.initrd.file.\1=/p' "$manifest"
	else
		echo "guest.initrd.builder=unknown (not built by tools/mkinitramfs)"
	fi
	# GRUB runs inside the emulator before the guest: its code and the ISO's layout move the
	# instruction count at which the guest boots, and so the timings.
	echo "boot.grub=grub-pc-bin $(prov_pkg grub-pc-bin), grub-common $(prov_pkg grub-common), xorriso $(prov_pkg xorriso)"
	echo "bochs.version=$(prov_pkg bochs)"
	echo "bochs.bios=bochsbios $(prov_pkg bochsbios), vgabios $(prov_pkg vgabios)"
	echo "bochs.ips=$4"
	echo "bochs.megs=$5"
}

# prov_run RUN CPU-MODEL HV-ARGS GUEST-CMDLINE CPUS: the inputs of one run.
prov_run() {
	echo "run.$1.cpu_model=$2"
	echo "run.$1.cpus=$5"
	echo "run.$1.boot=$3"
	echo "run.$1.guest_cmdline=$4"
}

# prov_merge FILE...: one provenance from several runs' files. A shared key with one value keeps
# it; with several, its value says "mixed:" and lists them, and the result set is not comparable.
prov_merge() {
	cat "$@" | awk '
		{ k = substr($0, 1, index($0, "=") - 1); v = substr($0, index($0, "=") + 1) }
		!(k in first) { order[++n] = k; first[k] = v; list[k] = v; seen[k, v] = 1; next }
		!((k, v) in seen) { seen[k, v] = 1; list[k] = list[k] " | " v; mixed[k] = 1 }
		END { for (i = 1; i <= n; i++) { k = order[i]; print k "=" ((k in mixed) ? "mixed: " list[k] : first[k]) } }' |
		LC_ALL=C sort
}

# prov_get FILE KEY: one value of a provenance file.
prov_get() { awk -v k="$2" 'index($0, k "=") == 1 { print substr($0, length(k) + 2); exit }' "$1"; }
