# Alert sinks against real peers: sink_driver (stdin lines -> alertq -> the real alert output
# thread and sinks) driven by test_sinks.py with a real redis-server on a free loopback port
# and a Python unix-socket notifier stand-in. Python 3 + pytest (Debian: python3-pytest).
add_executable(sink_driver ${CMAKE_CURRENT_SOURCE_DIR}/sink_driver.c)
target_link_libraries(sink_driver PRIVATE tipoff_sinks PkgConfig::JANSSON)

if(NOT TIPOFF_PYTHON3)
	message(WARNING "no python3 with pytest found: sink integration tests not registered")
else()
	find_program(TIPOFF_REDIS_SERVER redis-server)
	add_test(NAME sinks_against_real_peers
		COMMAND ${TIPOFF_PYTHON3} -m pytest -q -p no:cacheprovider
			${CMAKE_CURRENT_SOURCE_DIR}/test_sinks.py
		WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
	set_tests_properties(sinks_against_real_peers PROPERTIES
		ENVIRONMENT "SINK_DRIVER=$<TARGET_FILE:sink_driver>;REDIS_SERVER=${TIPOFF_REDIS_SERVER};PYTHONDONTWRITEBYTECODE=1"
		LABELS integration
		TIMEOUT 600)
endif()
