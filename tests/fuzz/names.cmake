# Fuzz targets of the sensor's name parsers: TLS ClientHello SNI, HTTP Host, QUIC Initial.
tipoff_fuzz_target(fuzz_tls ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_tls.c tipoff_names)
tipoff_fuzz_target(fuzz_http ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_http.c tipoff_names)
tipoff_fuzz_target(fuzz_quic ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_quic.c tipoff_names PkgConfig::CRYPTO)
