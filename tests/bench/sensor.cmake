# Throughput of tipoff-sensor as a ratio to a bare libpcap read loop (pcap_floor) over the
# same workload, measured in the same run. ctest runs the smoke size only (label bench: counts
# checked, no goal enforced); the full run of 1,000,000 packets is manual, see the command at
# the top of bench_sensor.py. Skipped (77) when the corpus is absent.
add_executable(pcap_floor ${CMAKE_CURRENT_LIST_DIR}/pcap_floor.c)
target_link_libraries(pcap_floor PRIVATE PkgConfig::PCAP)

add_test(NAME bench_sensor_smoke
	COMMAND ${CMAKE_CURRENT_LIST_DIR}/bench_sensor.py --smoke
		--sensor $<TARGET_FILE:tipoff-sensor> --floor $<TARGET_FILE:pcap_floor>
		--corpus ${TIPOFF_CORPUS}/pcaps --workdir ${CMAKE_CURRENT_BINARY_DIR}/bench-work)
set_tests_properties(bench_sensor_smoke PROPERTIES LABELS bench SKIP_RETURN_CODE 77 TIMEOUT 300)
