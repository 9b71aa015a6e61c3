# Live capture test (test_live_capture.py): a network namespace with a veth pair, tcpreplay of
# real captures into one end, tipoff-sensor -i on the other, with --workers 1 and 2; it must
# see what -r sees on the same files. Needs root; skipped (77, via the conftest_live plugin)
# when not root, without network namespaces, tcpreplay or captures.
# TIPOFF_PYTHON3 (a python3 with pytest) is found in CMakeLists.txt here.
if(NOT TIPOFF_PYTHON3)
	message(WARNING "no python3 with pytest found: live capture test not registered "
		"(Debian: apt-get install python3-pytest)")
else()
	add_test(NAME sensor_live_capture
		COMMAND ${TIPOFF_PYTHON3} -m pytest -v -rs -p no:cacheprovider -p conftest_live
			${CMAKE_CURRENT_SOURCE_DIR}/test_live_capture.py
		WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
	set_tests_properties(sensor_live_capture PROPERTIES
		ENVIRONMENT "TIPOFF_SENSOR=$<TARGET_FILE:tipoff-sensor>;TIPOFF_CORPUS=${TIPOFF_CORPUS};PYTHONPATH=${CMAKE_CURRENT_SOURCE_DIR};PYTHONDONTWRITEBYTECODE=1"
		LABELS integration
		SKIP_RETURN_CODE 77
		TIMEOUT 300
		RUN_SERIAL TRUE)
endif()
