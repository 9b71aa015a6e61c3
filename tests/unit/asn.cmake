# ASN enrichment: the test builds its own .mmdb with Debian's MaxMind::DB::Writer first.
add_executable(test_asn ${CMAKE_CURRENT_SOURCE_DIR}/test_asn.c)
target_link_libraries(test_asn PRIVATE tipoff_asn tipoff_check)
add_test(NAME asn_make_mmdb
	COMMAND perl ${CMAKE_CURRENT_SOURCE_DIR}/make_test_mmdb.pl ${CMAKE_CURRENT_BINARY_DIR}/test-asn.mmdb)
set_tests_properties(asn_make_mmdb PROPERTIES FIXTURES_SETUP asn_mmdb LABELS unit)
add_test(NAME test_asn COMMAND test_asn ${CMAKE_CURRENT_BINARY_DIR}/test-asn.mmdb
	${TIPOFF_CORPUS}/asn/ipfire-location-20221029/ipfire-asn.mmdb)
set_tests_properties(test_asn PROPERTIES FIXTURES_REQUIRED asn_mmdb LABELS unit)
