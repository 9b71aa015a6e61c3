# Capture worker (sensor/worker.c, flow.c, dpi.c, obs.c, community_id.c).
#  test_flow                       flow table: initiator rules, timeouts, eviction, TCP reuse
#  test_community_id               Community ID against the spec's published baseline values
#  community_id_matches_python     Community ID against a Python implementation, random tuples
#  test_obs                        observation JSON: shape, escaping, fuzzed names parse back
#  test_worker                     worker_frame on real captures, lines checked with jansson
#                                  against tshark's dissection of the same captures
foreach(t test_flow test_community_id test_obs test_worker)
	add_executable(${t} ${CMAKE_CURRENT_SOURCE_DIR}/${t}.c)
	target_link_libraries(${t} PRIVATE tipoff_sensor_core tipoff_check PkgConfig::JANSSON
		PkgConfig::PCAP)
	target_compile_definitions(${t} PRIVATE WORKER_TEST_PCAPS="${TIPOFF_CORPUS}/pcaps")
	add_test(NAME ${t} COMMAND ${t})
	set_tests_properties(${t} PROPERTIES LABELS unit TIMEOUT 300)
endforeach()

find_package(Python3 COMPONENTS Interpreter)
if(Python3_FOUND)
	add_test(NAME community_id_matches_python
		COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/test_community_id.py
			$<TARGET_FILE:test_community_id>)
	set_tests_properties(community_id_matches_python PROPERTIES LABELS unit)
endif()

find_program(TSHARK_PROGRAM tshark)
if(TSHARK_PROGRAM)
	set_tests_properties(test_worker PROPERTIES ENVIRONMENT "TSHARK=${TSHARK_PROGRAM}")
endif()
