# Packet decoder fuzz target: the first two bytes choose the link type, the rest is the frame.
# Seeds in corpus/fuzz_decode/ come from real capture frames (seed_decode.py).
tipoff_fuzz_target(fuzz_decode ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_decode.c tipoff_decode)
