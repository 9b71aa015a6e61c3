# Fuzz target of the sensor's DNS message parser.
tipoff_fuzz_target(fuzz_dns ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_dns.c tipoff_dns)
