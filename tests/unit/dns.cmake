# Unit tests of the sensor's DNS message parser (sensor/dns.c).
add_executable(test_dns test_dns.c)
target_link_libraries(test_dns PRIVATE tipoff_dns tipoff_check)
add_test(NAME test_dns COMMAND test_dns)
set_tests_properties(test_dns PROPERTIES LABELS unit)
