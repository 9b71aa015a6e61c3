# Engine files (owned by the engine) and loader files (owned by the loaders).
set(MATCHER_SOURCES
	${CMAKE_CURRENT_LIST_DIR}/placeholder.c
)
