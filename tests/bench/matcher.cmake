# Matcher benchmark (bench_matcher.c). DPDK's rte_fib is the IPv4 anchor when pkg-config finds
# libdpdk (a benchmark-only dependency: Debian's libdpdk-dev); without it the benchmark still
# builds and runs, with its naive baselines only. ctest runs a small smoke size (label bench);
# the full run is `bench_matcher` with no arguments.
pkg_check_modules(DPDK QUIET IMPORTED_TARGET libdpdk)
add_executable(bench_matcher ${CMAKE_CURRENT_LIST_DIR}/bench_matcher.c)
target_include_directories(bench_matcher PRIVATE ${CMAKE_SOURCE_DIR}/matcher)
target_link_libraries(bench_matcher PRIVATE tipoff_matcher)
if(DPDK_FOUND)
	target_compile_definitions(bench_matcher PRIVATE HAVE_DPDK)
	target_link_libraries(bench_matcher PRIVATE PkgConfig::DPDK)
endif()
add_test(NAME bench_matcher_smoke COMMAND bench_matcher --scale 0.01 --queries 65536 --no-dpdk)
set_tests_properties(bench_matcher_smoke PROPERTIES LABELS bench)
