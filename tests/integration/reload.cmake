# Rules reload while a paced replay runs (test_reload.py): 50 SIGHUPs with alternating rule
# sets, a broken one in between; alerts must follow their generation's rules. About 70 s each
# (the replay is paced), one ctest entry per worker count. Python 3 + pytest.
if(NOT TIPOFF_PYTHON3)
	message(WARNING "no python3 with pytest found: reload test not registered")
else()
	foreach(_w 1 2)
		add_test(NAME sensor_reload_during_replay_workers${_w}
			COMMAND ${TIPOFF_PYTHON3} -m pytest -q -p no:cacheprovider
				"${CMAKE_CURRENT_SOURCE_DIR}/test_reload.py::test_reload_during_replay_alerts_follow_their_generation[${_w}]"
			WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
		set_tests_properties(sensor_reload_during_replay_workers${_w} PROPERTIES
			ENVIRONMENT "TIPOFF_SENSOR=$<TARGET_FILE:tipoff-sensor>;PYTHONDONTWRITEBYTECODE=1"
			LABELS integration
			TIMEOUT 300)
	endforeach()
endif()
