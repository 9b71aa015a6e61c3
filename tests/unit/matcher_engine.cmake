# Matcher engine unit tests (builder, sets, snapshot, publication): see test_matcher_*.c.
function(tipoff_matcher_engine_test name)
	add_executable(${name} ${CMAKE_CURRENT_LIST_DIR}/${name}.c)
	target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/matcher)
	target_link_libraries(${name} PRIVATE tipoff_matcher tipoff_check)
	add_test(NAME ${name} COMMAND ${name} ${ARGN})
	set_tests_properties(${name} PROPERTIES LABELS unit)
endfunction()

tipoff_matcher_engine_test(test_matcher_engine)
tipoff_matcher_engine_test(test_matcher_reference)
tipoff_matcher_engine_test(test_matcher_reload)
set_tests_properties(test_matcher_reload PROPERTIES LABELS "unit;concurrency"
	ENVIRONMENT "TSAN_OPTIONS=suppressions=${CMAKE_SOURCE_DIR}/tests/tsan.supp halt_on_error=1")
