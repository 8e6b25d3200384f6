/* hvinfo: print the hypervisor's CPUID 0x40000000 signature, or "none" if no hypervisor is advertised. */
#include <cpuid.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
	unsigned int a, b, c, d;
	char sig[13] = { 0 };
	int n;

	/* CPUID.1:ECX[31] is the architectural "running under a hypervisor" bit; leaf 0x40000000
	 * is only meaningful when it is set. */
	__cpuid(1, a, b, c, d);
	if (!(c & (1u << 31))) {
		puts("none");
		return 0;
	}
	/* Query the hypervisor leaf directly: __get_cpuid would reject it as above the basic max leaf. */
	__cpuid(0x40000000, a, b, c, d);
	memcpy(sig + 0, &b, 4);
	memcpy(sig + 4, &c, 4);
	memcpy(sig + 8, &d, 4);
	/* Signatures such as "KVMKVMKVM\0\0\0" or "TCGTCGTCGTCG" are padded with NULs or spaces. */
	n = strlen(sig);
	while (n > 0 && sig[n - 1] == ' ')
		sig[--n] = '\0';
	puts(n ? sig : "unknown");	/* bit set but the leaf is blank */
	return 0;
}
