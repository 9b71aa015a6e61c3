# Hostile names through the worker's DNS, TLS SNI and HTTP Host paths into alerts: every alert
# line must be valid JSON (jansson). Seeds in corpus/fuzz_alert/: plain names, escapes, quotes,
# control and high bytes, dots in odd places, over-long labels.
tipoff_fuzz_target(fuzz_alert ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_alert.c tipoff_sensor_core)
