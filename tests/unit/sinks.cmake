# Alert delivery (sensor/alertq.c, sinks.c, sink_*.c, spool.c).
#  test_alertq               queue accounting, order, drops; the file sink end to end
#  test_alertq_concurrency   the multi-threaded cases only (label concurrency: CI runs it
#                            under TSan)
#  test_spool                append/ack/replay, rotation, size cap, crash recovery
foreach(t test_alertq test_spool)
	add_executable(${t} ${CMAKE_CURRENT_SOURCE_DIR}/${t}.c)
	target_link_libraries(${t} PRIVATE tipoff_sinks tipoff_check)
	add_test(NAME ${t} COMMAND ${t})
	set_tests_properties(${t} PROPERTIES LABELS unit TIMEOUT 300)
endforeach()
add_test(NAME test_alertq_concurrency COMMAND test_alertq concurrency)
set_tests_properties(test_alertq_concurrency PROPERTIES LABELS "unit;concurrency" TIMEOUT 600)
