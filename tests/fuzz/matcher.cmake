# Rule loader fuzz targets: one per format and the participants loader. Each feeds its input to
# the in-memory loader entry points of matcher/internal.h. Seeds in corpus/<target>/ are cut
# from the real feeds of ../shared/corpus (see corpus/<target>/README of each).
foreach(fmt zeek list csv misp stix participants)
	tipoff_fuzz_target(fuzz_load_${fmt} ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_load_${fmt}.c
		tipoff_matcher)
	target_include_directories(fuzz_load_${fmt}_replay PRIVATE ${CMAKE_SOURCE_DIR}/matcher)
	if(FUZZ)
		target_include_directories(fuzz_load_${fmt}_fuzz PRIVATE ${CMAKE_SOURCE_DIR}/matcher)
	endif()
endforeach()
