# Unit tests of the sensor's name parsers (TLS SNI, HTTP Host, QUIC Initial) and the agreement
# check of those parsers and the DNS parser against tshark over the shared corpus.
add_executable(test_names test_names.c)
target_link_libraries(test_names PRIVATE tipoff_names tipoff_decode tipoff_check
	PkgConfig::PCAP PkgConfig::CRYPTO)
add_test(NAME test_names COMMAND test_names ${TIPOFF_CORPUS}/pcaps)
set_tests_properties(test_names PROPERTIES LABELS unit)

add_executable(test_names_dns_tshark test_names_dns_tshark.c)
target_link_libraries(test_names_dns_tshark PRIVATE tipoff_names tipoff_dns tipoff_decode
	PkgConfig::PCAP PkgConfig::JANSSON)
add_test(NAME test_names_dns_tshark COMMAND test_names_dns_tshark ${TIPOFF_CORPUS}/pcaps
	-min 0.98)
set_tests_properties(test_names_dns_tshark PROPERTIES LABELS integration SKIP_RETURN_CODE 77)
