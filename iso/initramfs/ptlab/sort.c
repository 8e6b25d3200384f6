/* sort: a heap sort, so the order never depends on the C library's qsort. */
#include "ptlab.h"

static void sift_down(uint64_t *v, int start, int n)
{
	int root = start;

	while (2 * root + 1 < n) {
		int child = 2 * root + 1;
		if (child + 1 < n && v[child] < v[child + 1])
			child++;
		if (v[root] >= v[child])
			return;
		uint64_t t = v[root];
		v[root] = v[child];
		v[child] = t;
		root = child;
	}
}

void sort_u64(uint64_t *v, int n)
{
	for (int i = n / 2 - 1; i >= 0; i--)
		sift_down(v, i, n);
	for (int end = n - 1; end > 0; end--) {
		uint64_t t = v[0];
		v[0] = v[end];
		v[end] = t;
		sift_down(v, 0, end);
	}
}
