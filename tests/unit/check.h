/* check.h: a minimal unit-test harness: TEST() registers a case, CHECK() records failures. */
#ifndef SLAT_CHECK_H
#define SLAT_CHECK_H

#include <stdbool.h>
#include <stdio.h>

typedef void (*test_fn)(void);
void test_register(const char *name, test_fn fn);
void check_fail(const char *file, int line, const char *what);

#define TEST(name)                                                              \
	static void name(void);                                                 \
	__attribute__((constructor)) static void register_##name(void)          \
	{                                                                       \
		test_register(#name, name);                                     \
	}                                                                       \
	static void name(void)

#define CHECK(cond)                                                             \
	do {                                                                    \
		if (!(cond))                                                    \
			check_fail(__FILE__, __LINE__, #cond);                  \
	} while (0)

#define CHECK_EQ(a, b)                                                          \
	do {                                                                    \
		unsigned long long va_ = (unsigned long long)(a);               \
		unsigned long long vb_ = (unsigned long long)(b);               \
		if (va_ != vb_) {                                               \
			char m_[256];                                           \
			snprintf(m_, sizeof(m_), "%s == %s (0x%llx != 0x%llx)", #a, #b, va_, vb_); \
			check_fail(__FILE__, __LINE__, m_);                     \
		}                                                               \
	} while (0)

#define CHECK_STR(a, b)                                                         \
	do {                                                                    \
		const char *sa_ = (a), *sb_ = (b);                              \
		if (strcmp(sa_, sb_) != 0) {                                    \
			char m_[512];                                           \
			snprintf(m_, sizeof(m_), "%s == \"%s\" (got \"%s\")", #a, sb_, sa_); \
			check_fail(__FILE__, __LINE__, m_);                     \
		}                                                               \
	} while (0)

#endif
