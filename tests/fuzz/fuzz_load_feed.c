/*
 * Fuzz target: one indicator loader on arbitrary bytes, through the in-memory entry point
 * matcher__load_buffer(), then a snapshot build of whatever loaded. Any crash, leak or
 * sanitizer report is a bug; load errors are fine. Built once per format (matcher.cmake sets
 * FUZZ_FORMAT to the MATCHER_FMT_* value and FUZZ_FILE to the file name errors carry).
 */
#include <stddef.h>
#include <stdint.h>

#include "internal.h"

#if !defined(FUZZ_FORMAT) || !defined(FUZZ_FILE)
#error "build with -DFUZZ_FORMAT=MATCHER_FMT_... -DFUZZ_FILE=\"fuzz.<format>\""
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct matcher__builder *b = matcher__builder_new();
	struct matcher_errors errs = { 0 };
	struct matcher_snapshot *snap = NULL;

	if (b == NULL)
		return 0;
	matcher__builder_set_now(b, 1700000000);
	if (matcher__load_buffer(b, FUZZ_FORMAT, FUZZ_FILE, (const char *)data, size, &errs) ==
		    0 &&
	    matcher__builder_build(b, &snap) == 0)
		matcher_snapshot_free(snap);
	matcher__builder_free(b);
	matcher_errors_clear(&errs);
	return 0;
}
