/* SPDX-License-Identifier: MIT */
/*
 * Tests for vmmem/error.h: vmmem_strerror() describes every code libvmmem
 * assigns a meaning to, accepts both signs, and never returns NULL.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <vmmem/error.h>

/* The codes error.h lists, each with a meaning in terms of guest memory. */
static const int listed[] = {
	EINVAL,	 EOVERFLOW, EFAULT, EXDEV,     EEXIST, EACCES,
	ENOTSUP, ENOENT,    E2BIG,  ETIMEDOUT, ENOMEM,
};

#define NLISTED (sizeof(listed) / sizeof(listed[0]))

/* Copy a description, so that a later call cannot change what we compare. */
static void copy_text(char *dst, size_t size, const char *src)
{
	assert_non_null(src);
	assert_true(strlen(src) < size);
	snprintf(dst, size, "%s", src);
}

static void test_error_strerror_describes_every_listed_code(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < NLISTED; i++) {
		const char *s = vmmem_strerror(-listed[i]);

		assert_non_null(s);
		assert_true(strlen(s) > 0);
	}
}

static void test_error_strerror_gives_same_text_for_both_signs(void **state)
{
	char neg[256];
	size_t i;

	(void)state;
	for (i = 0; i < NLISTED; i++) {
		copy_text(neg, sizeof(neg), vmmem_strerror(-listed[i]));
		assert_string_equal(neg, vmmem_strerror(listed[i]));
	}
}

static void test_error_strerror_gives_distinct_text_per_code(void **state)
{
	char texts[NLISTED][256];
	size_t i, j;

	(void)state;
	for (i = 0; i < NLISTED; i++)
		copy_text(texts[i], sizeof(texts[i]),
			  vmmem_strerror(-listed[i]));
	for (i = 0; i < NLISTED; i++)
		for (j = i + 1; j < NLISTED; j++)
			assert_string_not_equal(texts[i], texts[j]);
}

static void test_error_strerror_describes_unknown_codes(void **state)
{
	static const int unknown[] = { -12345, 12345, 0, INT_MAX, -4096 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		const char *s = vmmem_strerror(unknown[i]);

		assert_non_null(s);
		assert_true(strlen(s) > 0);
	}
}

static void test_error_strerror_describes_most_negative_int(void **state)
{
	(void)state;
	assert_non_null(vmmem_strerror(INT_MIN));
}

static void test_error_strerror_falls_back_to_system_text(void **state)
{
	static const int other[] = { EPERM, EIO, EBADF, EPIPE, 12345 };
	char text[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		copy_text(text, sizeof(text), vmmem_strerror(-other[i]));
		assert_string_equal(text, strerror(other[i]));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_error_strerror_describes_every_listed_code),
		cmocka_unit_test(
			test_error_strerror_gives_same_text_for_both_signs),
		cmocka_unit_test(
			test_error_strerror_gives_distinct_text_per_code),
		cmocka_unit_test(test_error_strerror_describes_unknown_codes),
		cmocka_unit_test(
			test_error_strerror_describes_most_negative_int),
		cmocka_unit_test(test_error_strerror_falls_back_to_system_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
