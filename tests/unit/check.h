/*
 * Tiny test harness for tipoff's C unit tests: CHECK_* macros that print the expression, both
 * values and file:line, count failures, and keep going; RUN(test) runs one test function;
 * check_summary() prints "N passed, N failed" and gives the exit code.
 */
#ifndef TIPOFF_TESTS_CHECK_H
#define TIPOFF_TESTS_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static unsigned check_failures_;  /* failed checks in the current test */
static unsigned check_tests_passed_, check_tests_failed_;

#define CHECK_FAIL_(...)                                                                       \
	do {                                                                                   \
		fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                                \
		fprintf(stderr, __VA_ARGS__);                                                  \
		fputc('\n', stderr);                                                           \
		check_failures_++;                                                             \
	} while (0)

#define CHECK(cond)                                                                            \
	do {                                                                                   \
		if (!(cond))                                                                   \
			CHECK_FAIL_("CHECK(%s) failed", #cond);                                \
	} while (0)

#define CHECK_EQ(a, b)                                                                         \
	do {                                                                                   \
		long long check_a_ = (long long)(a), check_b_ = (long long)(b);                \
		if (check_a_ != check_b_)                                                      \
			CHECK_FAIL_("CHECK_EQ(%s, %s): %lld != %lld", #a, #b, check_a_,        \
				    check_b_);                                                 \
	} while (0)

#define CHECK_U64(a, b)                                                                        \
	do {                                                                                   \
		uint64_t check_a_ = (uint64_t)(a), check_b_ = (uint64_t)(b);                   \
		if (check_a_ != check_b_)                                                      \
			CHECK_FAIL_("CHECK_U64(%s, %s): %" PRIu64 " != %" PRIu64, #a, #b,      \
				    check_a_, check_b_);                                       \
	} while (0)

#define CHECK_STR(a, b)                                                                        \
	do {                                                                                   \
		const char *check_a_ = (a), *check_b_ = (b);                                   \
		if (check_a_ == NULL || check_b_ == NULL || strcmp(check_a_, check_b_) != 0)   \
			CHECK_FAIL_("CHECK_STR(%s, %s): \"%s\" != \"%s\"", #a, #b,             \
				    check_a_ ? check_a_ : "(null)",                            \
				    check_b_ ? check_b_ : "(null)");                           \
	} while (0)

#define CHECK_MEM(a, b, n)                                                                     \
	do {                                                                                   \
		if (memcmp((a), (b), (n)) != 0)                                                \
			CHECK_FAIL_("CHECK_MEM(%s, %s, %s): bytes differ", #a, #b, #n);        \
	} while (0)

#define RUN(test)                                                                              \
	do {                                                                                   \
		check_failures_ = 0;                                                           \
		test();                                                                        \
		if (check_failures_ == 0) {                                                    \
			check_tests_passed_++;                                                 \
		} else {                                                                       \
			check_tests_failed_++;                                                 \
			fprintf(stderr, "FAIL %s (%u checks)\n", #test, check_failures_);      \
		}                                                                              \
	} while (0)

static inline int check_summary(void)
{
	printf("%u passed, %u failed\n", check_tests_passed_, check_tests_failed_);
	return check_tests_failed_ == 0 ? 0 : 1;
}

#endif
