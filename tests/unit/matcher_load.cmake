# Rule loader tests: formats, drops, errors with file:line (C), and the real feeds of the shared
# corpus and rules/examples loading with the counts an independent naive parser expects.
add_executable(test_matcher_load ${CMAKE_CURRENT_LIST_DIR}/test_matcher_load.c)
target_include_directories(test_matcher_load PRIVATE ${CMAKE_SOURCE_DIR}/matcher)
target_link_libraries(test_matcher_load PRIVATE tipoff_matcher tipoff_check)
add_test(NAME test_matcher_load COMMAND test_matcher_load)
set_tests_properties(test_matcher_load PROPERTIES LABELS unit)

find_package(Python3 COMPONENTS Interpreter)
if(Python3_FOUND AND TARGET tipoff-rules)
	add_test(NAME test_matcher_load_real_feeds
		COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/test_matcher_load_real_feeds.py
			$<TARGET_FILE:tipoff-rules> ${CMAKE_SOURCE_DIR}/rules/examples ${TIPOFF_CORPUS})
	set_tests_properties(test_matcher_load_real_feeds PROPERTIES LABELS unit)
endif()
if(Python3_FOUND AND TARGET tipoff-rules)
	add_test(NAME test_matcher_load_cli
		COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/test_matcher_load_cli.py
			$<TARGET_FILE:tipoff-rules> ${CMAKE_SOURCE_DIR}/rules/examples ${TIPOFF_CORPUS})
	set_tests_properties(test_matcher_load_cli PROPERTIES LABELS unit)
	set_tests_properties(test_matcher_load_real_feeds PROPERTIES TIMEOUT 900)
endif()

# Allocation failures: replaces malloc, so only without sanitizers (they bring their own).
if(NOT SANITIZE)
	add_executable(test_matcher_load_oom ${CMAKE_CURRENT_LIST_DIR}/test_matcher_load_oom.c)
	target_include_directories(test_matcher_load_oom PRIVATE ${CMAKE_SOURCE_DIR}/matcher)
	target_link_libraries(test_matcher_load_oom PRIVATE tipoff_matcher tipoff_check)
	add_test(NAME test_matcher_load_oom COMMAND test_matcher_load_oom)
	set_tests_properties(test_matcher_load_oom PROPERTIES LABELS unit)
endif()
