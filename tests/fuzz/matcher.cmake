# Rule loader fuzz targets: one per indicator format, all built from fuzz_load_feed.c with the
# format as a compile definition, and one for the participants loader. Each feeds its input to
# the in-memory loader entry points of matcher/internal.h. Seeds in corpus/<target>/ are cut
# from the real feeds of ../shared/corpus (see corpus/<target>/README of each).
function(tipoff_loader_fuzz_target name source)
	tipoff_fuzz_target(${name} ${source} tipoff_matcher)
	set(_targets ${name}_replay)
	if(FUZZ)
		list(APPEND _targets ${name}_fuzz)
	endif()
	foreach(_t IN LISTS _targets)
		target_include_directories(${_t} PRIVATE ${CMAKE_SOURCE_DIR}/matcher)
		target_compile_definitions(${_t} PRIVATE ${ARGN})
	endforeach()
endfunction()

foreach(fmt zeek list csv misp stix)
	string(TOUPPER ${fmt} _FMT)
	tipoff_loader_fuzz_target(fuzz_load_${fmt} ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_load_feed.c
		FUZZ_FORMAT=MATCHER_FMT_${_FMT} FUZZ_FILE="fuzz.${fmt}")
endforeach()
tipoff_loader_fuzz_target(fuzz_load_participants
	${CMAKE_CURRENT_SOURCE_DIR}/fuzz_load_participants.c)
