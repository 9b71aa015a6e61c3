/*
 * Cross-flow suppression: the same (participant, indicator, asset, kind) passes at most once per
 * interval of packet time, and the next one that passes carries how many were held back.
 */
#include "check.h"
#include "sensor/suppress.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#define S 1000000000ull

static char rec[1024];

/* An enveloped alert line for key at time t (seconds). */
static size_t make(uint64_t key, uint64_t t)
{
	static const char line[] = "{\"event\":{\"kind\":\"alert\"},\"tipoff\":{\"kind\":\"contact\"}}";
	struct suppress_envelope env = { .key = key, .ts_ns = t * S, .magic = SUPPRESS_MAGIC };

	env.tipoff_off = (uint32_t)(strstr(line, "\"tipoff\":{") - line + 10);
	memcpy(rec, &env, sizeof(env));
	memcpy(rec + sizeof(env), line, sizeof(line) - 1);
	return sizeof(env) + sizeof(line) - 1;
}

/* -1 when suppressed, else the "suppressed" value carried (0 when absent); checks the JSON. */
static long long pass(struct suppress *s, uint64_t key, uint64_t t)
{
	const char *out;
	size_t n = suppress_filter(s, rec, make(key, t), &out);
	json_t *j, *v;
	long long r;

	if (n == 0)
		return -1;
	j = json_loadb(out, n, 0, NULL);
	if (j == NULL)
		return -2; /* not valid JSON */
	v = json_object_get(json_object_get(j, "tipoff"), "suppressed");
	r = v ? json_integer_value(v) : 0;
	if (strcmp(json_string_value(json_object_get(json_object_get(j, "tipoff"), "kind")),
		   "contact") != 0)
		r = -3;
	json_decref(j);
	return r;
}

static void test_same_key_passes_once_per_interval_and_carries_count(void)
{
	struct suppress *s = suppress_new(60 * S);
	uint64_t a = suppress_key("p1", "45.33.32.156", "10.1.0.0/16", 0);

	CHECK_EQ(pass(s, a, 100), 0);
	CHECK_EQ(pass(s, a, 101), -1);
	CHECK_EQ(pass(s, a, 159), -1);
	CHECK_EQ(pass(s, a, 160), 2); /* interval over: passes with the two held back */
	CHECK_EQ(pass(s, a, 161), -1);
	CHECK_EQ(pass(s, a, 300), 1);
	CHECK_EQ(pass(s, a, 400), 0);
	CHECK_U64(suppress_count(s), 3);
	suppress_free(s);
}

static void test_keys_differ_by_every_part(void)
{
	struct suppress *s = suppress_new(60 * S);
	uint64_t base = suppress_key("p1", "evil.example", "10.1.0.0/16", 0);

	CHECK_EQ(pass(s, base, 10), 0);
	CHECK_EQ(pass(s, suppress_key("p2", "evil.example", "10.1.0.0/16", 0), 10), 0);
	CHECK_EQ(pass(s, suppress_key("p1", "evil.example2", "10.1.0.0/16", 0), 10), 0);
	CHECK_EQ(pass(s, suppress_key("p1", "evil.example", "10.1.2.0/24", 0), 10), 0);
	CHECK_EQ(pass(s, suppress_key("p1", "evil.example", "10.1.0.0/16", 1), 10), 0);
	CHECK(suppress_key("p1", "ab", "c", 0) != suppress_key("p1", "a", "bc", 0));
	CHECK_EQ(pass(s, base, 11), -1);
	suppress_free(s);
}

static void test_zero_interval_and_unkeyed_alerts_always_pass(void)
{
	struct suppress *off = suppress_new(0), *on = suppress_new(60 * S);

	CHECK_EQ(pass(off, 42, 1), 0);
	CHECK_EQ(pass(off, 42, 1), 0);
	CHECK_EQ(pass(on, 0, 1), 0); /* key 0: listed alerts are never suppressed */
	CHECK_EQ(pass(on, 0, 1), 0);
	suppress_free(off);
	suppress_free(on);
}

static void test_many_keys_grow_the_table(void)
{
	struct suppress *s = suppress_new(60 * S);
	unsigned passed = 0, held = 0;

	for (unsigned round = 0; round < 2; round++)
		for (uint64_t k = 1; k <= 20000; k++) {
			long long r = pass(s, k * 0x9e3779b97f4a7c15ull, 5 + round);

			passed += r == 0;
			held += r == -1;
		}
	CHECK_EQ(passed, 20000);
	CHECK_EQ(held, 20000);
	suppress_free(s);
}

int main(void)
{
	RUN(test_same_key_passes_once_per_interval_and_carries_count);
	RUN(test_keys_differ_by_every_part);
	RUN(test_zero_interval_and_unkeyed_alerts_always_pass);
	RUN(test_many_keys_grow_the_table);
	return check_summary();
}
