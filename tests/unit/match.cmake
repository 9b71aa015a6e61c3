add_executable(test_match ${CMAKE_CURRENT_SOURCE_DIR}/test_match.c)
target_link_libraries(test_match PRIVATE tipoff_match tipoff_check)
add_test(NAME test_match COMMAND test_match)
set_tests_properties(test_match PROPERTIES LABELS unit)
