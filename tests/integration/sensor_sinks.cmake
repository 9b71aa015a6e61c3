# The real tipoff-sensor delivering alerts to real peers (test_sensor_sinks.py): a redis-server
# started on a free loopback port, and a Python unix-socket notifier stand-in that stops
# reading, goes away and comes back during a paced replay. Needs tshark and the shared corpus
# (skipped otherwise). Python 3 + pytest.
if(NOT TIPOFF_PYTHON3)
	message(WARNING "no python3 with pytest found: sensor sink test not registered")
else()
	find_program(TIPOFF_REDIS_SERVER redis-server)
	add_test(NAME sensor_sinks_against_real_peers
		COMMAND ${TIPOFF_PYTHON3} -m pytest -q -rs -p no:cacheprovider
			${CMAKE_CURRENT_SOURCE_DIR}/test_sensor_sinks.py
		WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
	set_tests_properties(sensor_sinks_against_real_peers PROPERTIES
		ENVIRONMENT "TIPOFF_SENSOR=$<TARGET_FILE:tipoff-sensor>;TIPOFF_CORPUS=${TIPOFF_CORPUS};REDIS_SERVER=${TIPOFF_REDIS_SERVER};PYTHONDONTWRITEBYTECODE=1"
		LABELS integration
		TIMEOUT 300)
endif()
