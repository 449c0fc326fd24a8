# find_package(TBB) for the tsan preset only (it sets TBB_DIR to this folder): defines TBB::tbb as oneTBB's
# scheduler built with the project's flags, i.e. with -fsanitize=thread, from Debian's own source package of the
# installed libtbb-dev (scripts/fetch_onetbb_source.sh unpacks it into .cache/onetbb-src). ThreadSanitizer only
# sees synchronization in instrumented code; Debian's libtbb binary is not, so every task hand-off between its
# workers would be reported as a race. The public headers are the system's (the same source package), so only
# the library is built here. Every other preset uses Debian's libtbb.
if(TARGET TBB::tbb)
  return()
endif()
find_package(Threads REQUIRED)
get_filename_component(QF_ONETBB_SOURCE_DIR "${CMAKE_CURRENT_LIST_DIR}/../../.cache/onetbb-src/src/tbb" ABSOLUTE)
if(NOT EXISTS "${QF_ONETBB_SOURCE_DIR}/task.cpp")
  message(FATAL_ERROR "oneTBB source missing at ${QF_ONETBB_SOURCE_DIR}: run scripts/fetch_onetbb_source.sh")
endif()
# The list of oneTBB 2021.8.0's src/tbb/CMakeLists.txt (the tsan preset is pinned to bookworm's release).
set(QF_ONETBB_SOURCES
  address_waiter allocator arena arena_slot concurrent_bounded_queue dynamic_link exception governor
  global_control itt_notify main market misc misc_ex observer_proxy parallel_pipeline private_server profiling
  rml_tbb rtm_mutex rtm_rw_mutex semaphore small_object_pool task task_dispatcher task_group_context version
  queuing_rw_mutex)
list(TRANSFORM QF_ONETBB_SOURCES PREPEND "${QF_ONETBB_SOURCE_DIR}/")
list(TRANSFORM QF_ONETBB_SOURCES APPEND ".cpp")
add_library(qf_onetbb_tsan SHARED ${QF_ONETBB_SOURCES})
# __TBB_DYNAMIC_LOAD_ENABLED=0: never dlopen Debian's uninstrumented libtbbmalloc or libtbbbind (allocations
# then go through malloc, which TSan tracks). -mrtm -mwaitpkg as oneTBB's own GNU flags (used only after a
# CPUID check). -w: third-party code, its warnings are not ours to fix.
target_compile_definitions(qf_onetbb_tsan PRIVATE __TBB_BUILD __TBB_DYNAMIC_LOAD_ENABLED=0)
target_compile_options(qf_onetbb_tsan PRIVATE -mrtm -mwaitpkg -w)
target_link_libraries(qf_onetbb_tsan PRIVATE Threads::Threads ${CMAKE_DL_LIBS})
add_library(TBB::tbb ALIAS qf_onetbb_tsan)
set(TBB_VERSION 2021.8.0)
set(TBB_FOUND TRUE)
