# Engine files (owned by the engine) and loader files (owned by the loaders).
set(MATCHER_SOURCES
	${CMAKE_CURRENT_LIST_DIR}/asn_set.c
	${CMAKE_CURRENT_LIST_DIR}/builder.c
	${CMAKE_CURRENT_LIST_DIR}/config.c
	${CMAKE_CURRENT_LIST_DIR}/domain_set.c
	${CMAKE_CURRENT_LIST_DIR}/ip_set.c
	${CMAKE_CURRENT_LIST_DIR}/load.c
	${CMAKE_CURRENT_LIST_DIR}/load_csv.c
	${CMAKE_CURRENT_LIST_DIR}/load_list.c
	${CMAKE_CURRENT_LIST_DIR}/load_misp.c
	${CMAKE_CURRENT_LIST_DIR}/load_participants.c
	${CMAKE_CURRENT_LIST_DIR}/load_stix.c
	${CMAKE_CURRENT_LIST_DIR}/load_zeek.c
	${CMAKE_CURRENT_LIST_DIR}/publish.c
	${CMAKE_CURRENT_LIST_DIR}/snapshot.c
	${CMAKE_CURRENT_LIST_DIR}/value.c
)
