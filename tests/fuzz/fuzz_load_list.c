/*
 * Fuzz target: the list indicator loader on arbitrary bytes, through the in-memory entry point
 * matcher__load_buffer(), then a snapshot build of whatever loaded. Any crash, leak or
 * sanitizer report is a bug; load errors are fine.
 */
#include <stddef.h>
#include <stdint.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct matcher__builder *b = matcher__builder_new();
	struct matcher_errors errs = { 0 };
	struct matcher_snapshot *snap = NULL;

	if (b == NULL)
		return 0;
	matcher__builder_set_now(b, 1700000000);
	if (matcher__load_buffer(b, MATCHER_FMT_LIST, "fuzz.list", (const char *)data, size,
	                         &errs) == 0 &&
	    matcher__builder_build(b, &snap) == 0)
		matcher_snapshot_free(snap);
	matcher__builder_free(b);
	matcher_errors_clear(&errs);
	return 0;
}
