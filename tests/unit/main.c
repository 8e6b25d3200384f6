/* main.c: run every registered unit test and print "N passed, N failed". */
#include <stdlib.h>
#include <string.h>
#include "check.h"

#define MAX_TESTS 512

static struct {
	const char *name;
	test_fn fn;
} tests[MAX_TESTS];
static int ntests;
static int current_failures;

void test_register(const char *name, test_fn fn)
{
	if (ntests == MAX_TESTS) {
		fprintf(stderr, "too many tests\n");
		exit(2);
	}
	tests[ntests].name = name;
	tests[ntests++].fn = fn;
}

void check_fail(const char *file, int line, const char *what)
{
	if (current_failures++ < 5)
		printf("    %s:%d: check failed: %s\n", file, line, what);
}

int main(int argc, char **argv)
{
	int passed = 0, failed = 0;
	for (int i = 0; i < ntests; i++) {
		if (argc > 1 && !strstr(tests[i].name, argv[1]))
			continue;
		current_failures = 0;
		tests[i].fn();
		printf("%s %s\n", current_failures ? "FAIL" : "ok  ", tests[i].name);
		if (current_failures)
			failed++;
		else
			passed++;
	}
	printf("unit: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
