# Integration tests of tipoff-sensor on real captures (Python 3 + pytest, Debian packages).
# test_live* and bench* files belong to other fragments.
# TIPOFF_PYTHON3 (a python3 with pytest) is found in CMakeLists.txt here.
if(NOT TIPOFF_PYTHON3)
	message(WARNING "no python3 with pytest found: sensor integration tests not registered "
		"(Debian: apt-get install python3-pytest)")
else()
	set(_tipoff_it_env
		"TIPOFF_SENSOR=$<TARGET_FILE:tipoff-sensor>"
		"TIPOFF_CORPUS=${TIPOFF_CORPUS}"
		"PYTHONDONTWRITEBYTECODE=1")
	# name, file, timeout (s)
	set(_tipoff_it_tests
		"sensor_pcaps_fast\;test_pcaps_fast.py\;300"
		"sensor_bad_input\;test_bad_input.py\;900"
		"sensor_workers\;test_workers.py\;900"
		"sensor_tshark_agreement\;test_tshark_agreement.py\;1800"
		"sensor_corpus_sanitizer\;test_corpus_sanitizer.py\;3600")
	foreach(_t IN LISTS _tipoff_it_tests)
		list(GET _t 0 _name)
		list(GET _t 1 _file)
		list(GET _t 2 _timeout)
		add_test(NAME ${_name}
			COMMAND ${TIPOFF_PYTHON3} -m pytest -q -p no:cacheprovider
				${CMAKE_CURRENT_SOURCE_DIR}/${_file}
			WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
		set_tests_properties(${_name} PROPERTIES
			ENVIRONMENT "${_tipoff_it_env}"
			LABELS integration
			TIMEOUT ${_timeout})
	endforeach()
	# The corpus-wide tests read ~900 files with 2 processes each: never two at once.
	set_tests_properties(sensor_tshark_agreement sensor_corpus_sanitizer PROPERTIES
		RESOURCE_LOCK tipoff_corpus)
endif()
