# lmzip_module(NAME [DEPS module...] [LIBS target...]) — a static library from src/lmzip/NAME/*.cpp.
# DEPS are other lmzip modules (by short name); LIBS are external link targets.
function(lmzip_module name)
  cmake_parse_arguments(M "" "" "DEPS;LIBS" ${ARGN})
  file(GLOB_RECURSE srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  if(srcs)
    add_library(lmzip_${name} STATIC ${srcs})
    set(vis PUBLIC)
  else()
    add_library(lmzip_${name} INTERFACE)
    set(vis INTERFACE)
  endif()
  target_include_directories(lmzip_${name} ${vis} ${PROJECT_SOURCE_DIR}/src)
  foreach(d IN LISTS M_DEPS)
    target_link_libraries(lmzip_${name} ${vis} lmzip_${d})
  endforeach()
  if(M_LIBS)
    target_link_libraries(lmzip_${name} ${vis} ${M_LIBS})
  endif()
endfunction()

# lmzip_test(NAME [DEPS module...]) — a GoogleTest executable from tests/NAME/*.cpp, registered with ctest.
function(lmzip_test name)
  cmake_parse_arguments(T "" "" "DEPS" ${ARGN})
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${name}/*.cpp)
  if(NOT srcs)
    return()
  endif()
  add_executable(test_${name} ${srcs})
  foreach(d IN LISTS T_DEPS)
    target_link_libraries(test_${name} PRIVATE lmzip_${d})
  endforeach()
  target_link_libraries(test_${name} PRIVATE lmzip_testutil GTest::gtest GTest::gtest_main)
  # GCC 12 reports a false -Wrestrict inside std::string's operator+ chains once they are inlined into test
  # fixtures (GCC bug 105329); the library code builds without it.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(test_${name} PRIVATE -Wno-restrict)
  endif()
  if(name STREQUAL "cli")
    add_dependencies(test_${name} lmzip)  # CLI tests run the built binary
  endif()
  gtest_discover_tests(test_${name}
    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
    PROPERTIES ENVIRONMENT "LMZIP_SHARED=${LMZIP_SHARED_DIR};LMZIP_BIN=${CMAKE_BINARY_DIR}/lmzip"
    DISCOVERY_TIMEOUT 60)
endfunction()
