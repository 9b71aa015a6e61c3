# End-to-end alert tests: real captures -> tipoff-sensor -> alerts, compared with an independent
# naive model of DESIGN.md's alert rules over tshark's view (test_alerts_e2e.py, alerts_naive.py).
# Uses the interpreter sensor.cmake found (python3 with pytest); tshark is needed at run time
# (the test skips without it). Corpus captures are skipped when TIPOFF_CORPUS is absent.
if(TIPOFF_PYTHON3 AND TARGET tipoff-sensor)
	add_test(NAME sensor_alerts_e2e
		COMMAND ${TIPOFF_PYTHON3} -m pytest -q -p no:cacheprovider -rxX
			${CMAKE_CURRENT_SOURCE_DIR}/test_alerts_e2e.py
		WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
	set_tests_properties(sensor_alerts_e2e PROPERTIES
		ENVIRONMENT "TIPOFF_SENSOR=$<TARGET_FILE:tipoff-sensor>;TIPOFF_CORPUS=${TIPOFF_CORPUS};TIPOFF_RULES=$<TARGET_FILE:tipoff-rules>;PYTHONDONTWRITEBYTECODE=1"
		LABELS integration
		TIMEOUT 600)
endif()
