# Packet decoder (sensor/decode.c, sensor/addr.c). One program, three ctest entries:
#  test_decode             unit: frames built byte by byte, and frames of real captures
#  decode_corpus           integration: every frame of every capture in the shared corpus
#  decode_matches_tshark   integration: addresses/ports of tunnel captures against tshark
add_executable(test_decode ${CMAKE_CURRENT_SOURCE_DIR}/test_decode.c)
target_link_libraries(test_decode PRIVATE tipoff_decode tipoff_check PkgConfig::PCAP)
target_compile_definitions(test_decode PRIVATE DECODE_TEST_PCAPS="${TIPOFF_CORPUS}/pcaps")

add_test(NAME test_decode COMMAND test_decode)
set_tests_properties(test_decode PROPERTIES LABELS unit)

add_test(NAME decode_corpus COMMAND test_decode --corpus ${TIPOFF_CORPUS}/pcaps)
set_tests_properties(decode_corpus PROPERTIES LABELS integration TIMEOUT 600
	SKIP_RETURN_CODE 77)

find_program(TSHARK_PROGRAM tshark)
if(TSHARK_PROGRAM)
	add_test(NAME decode_matches_tshark
		COMMAND test_decode --tshark ${TSHARK_PROGRAM} ${TIPOFF_CORPUS}/pcaps)
	set_tests_properties(decode_matches_tshark PROPERTIES LABELS integration TIMEOUT 600
		SKIP_RETURN_CODE 77)
endif()
