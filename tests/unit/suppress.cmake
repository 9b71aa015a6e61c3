add_executable(test_suppress ${CMAKE_CURRENT_SOURCE_DIR}/test_suppress.c)
target_link_libraries(test_suppress PRIVATE tipoff_sinks tipoff_check PkgConfig::JANSSON)
add_test(NAME test_suppress COMMAND test_suppress)
set_tests_properties(test_suppress PROPERTIES LABELS unit)
