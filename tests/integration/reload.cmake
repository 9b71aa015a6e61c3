# Rules reload while a paced replay runs (test_reload.py): 50 SIGHUPs with alternating rule
# sets, a broken one in between; alerts must follow their generation's rules. About 70 s each
# (the replay is paced), one ctest entry per worker count. Python 3 + pytest.
if(NOT TIPOFF_PYTHON3)
	find_program(_tipoff_path_python3 python3)
	foreach(_py /usr/bin/python3 ${_tipoff_path_python3})
		if(EXISTS "${_py}")
			execute_process(COMMAND "${_py}" -c "import pytest"
				RESULT_VARIABLE _rc OUTPUT_QUIET ERROR_QUIET)
			if(_rc EQUAL 0)
				set(TIPOFF_PYTHON3 "${_py}" CACHE FILEPATH "python3 with pytest for integration tests")
				break()
			endif()
		endif()
	endforeach()
endif()

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
