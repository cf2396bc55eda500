# Every test is a ctest test. They share one embedded cluster under
# build/test-home, started (and migrated, and loaded with the demo data) by
# the `cluster` fixture and stopped when the last test that needs it is done.

set(ENIGMA_TEST_HOME ${CMAKE_BINARY_DIR}/test-home)
set(ENIGMA_TEST_ENV
  ENIGMA_HOME=${ENIGMA_TEST_HOME}
  "LUA_PATH=${CMAKE_SOURCE_DIR}/lua/?.lua\;${CMAKE_SOURCE_DIR}/lua/?/init.lua\;${CMAKE_SOURCE_DIR}/spec/support/?.lua\;\;"
  "LUA_CPATH=${CMAKE_BINARY_DIR}/?.so\;\;"
  ENIGMA_BIN=$<TARGET_FILE:enigma>
  ENIGMA_SOURCE_DIR=${CMAKE_SOURCE_DIR})
# Under ENIGMA_SANITIZE the specs' stock lua5.4 loads an instrumented enigma.so:
# the sanitizer runtimes must come first. Leak checking stays with the C tests,
# since busted exits without closing its Lua state. ENIGMA_SANITIZER_PRELOAD names
# the runtimes for a spec that starts another stock lua5.4 on the module (the
# commands a spec runs do not inherit LD_PRELOAD: spec/support/shell.lua).
if(ENIGMA_SANITIZE)
  execute_process(COMMAND ${CMAKE_C_COMPILER} -print-file-name=libasan.so
                  OUTPUT_VARIABLE ENIGMA_LIBASAN OUTPUT_STRIP_TRAILING_WHITESPACE)
  execute_process(COMMAND ${CMAKE_C_COMPILER} -print-file-name=libubsan.so
                  OUTPUT_VARIABLE ENIGMA_LIBUBSAN OUTPUT_STRIP_TRAILING_WHITESPACE)
  set(ENIGMA_LUA_SANITIZER_ENV "LD_PRELOAD=${ENIGMA_LIBASAN}:${ENIGMA_LIBUBSAN}" ASAN_OPTIONS=detect_leaks=0
      "ENIGMA_SANITIZER_PRELOAD=${ENIGMA_LIBASAN}:${ENIGMA_LIBUBSAN}")
endif()

# A URL in the caller's environment would point the tests at someone else's database.
set(ENIGMA_TEST_ENV_MOD ENIGMA_DATABASE_URL=unset: DATABASE_URL=unset: PGHOST=unset: PGDATABASE=unset:)

function(enigma_test name)
  cmake_parse_arguments(T "NODB;LUA" "" "COMMAND" ${ARGN})
  add_test(NAME ${name} COMMAND ${T_COMMAND} WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
  set(env "${ENIGMA_TEST_ENV}")
  if(T_LUA)
    list(APPEND env ${ENIGMA_LUA_SANITIZER_ENV})
  endif()
  set_tests_properties(${name} PROPERTIES ENVIRONMENT "${env}"
                       ENVIRONMENT_MODIFICATION "${ENIGMA_TEST_ENV_MOD}" TIMEOUT 300)
  if(NOT T_NODB)
    set_tests_properties(${name} PROPERTIES FIXTURES_REQUIRED cluster)
  endif()
endfunction()

enigma_test(cluster/start NODB COMMAND sh ${CMAKE_SOURCE_DIR}/spec/support/cluster.sh start)
set_tests_properties(cluster/start PROPERTIES FIXTURES_SETUP cluster)
enigma_test(cluster/stop NODB COMMAND sh ${CMAKE_SOURCE_DIR}/spec/support/cluster.sh stop)
set_tests_properties(cluster/stop PROPERTIES FIXTURES_CLEANUP cluster)

# C unit tests: spec/c/<module>_test.c, one program each. A test that uses the
# shared cluster says so with a line containing "needs: cluster".
file(GLOB ENIGMA_C_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/spec/c/*_test.c)
foreach(src ${ENIGMA_C_TESTS})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src})
  target_link_libraries(${name} PRIVATE enigma_core)
  if(name MATCHES "^host_")      # tests of the program's own parts (host/)
    string(REGEX REPLACE "^host_(.*)_test$" "\\1" part ${name})
    target_sources(${name} PRIVATE ${CMAKE_SOURCE_DIR}/host/${part}.c)
    target_include_directories(${name} PRIVATE ${LUA_INCLUDE_DIRS})
    target_link_libraries(${name} PRIVATE PkgConfig::LUA)
  endif()
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/spec/c)
  # A unit test of one part of a binding sees that folder's private headers.
  if(name MATCHES "^sandbox_")
    target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/bindings/sandbox)
  endif()
  # A test that hosts Lua with the enigma package says "needs: bindings".
  file(STRINGS ${src} needs_bindings REGEX "needs: bindings")
  if(needs_bindings)
    target_sources(${name} PRIVATE $<TARGET_OBJECTS:enigma_bindings>)
    target_include_directories(${name} PRIVATE ${LUA_INCLUDE_DIRS})
    target_link_libraries(${name} PRIVATE PkgConfig::LUA PkgConfig::UV)
  endif()
  file(STRINGS ${src} needs_cluster REGEX "needs: cluster")
  if(needs_cluster)
    enigma_test(c/${name} COMMAND ${name})
  else()
    enigma_test(c/${name} NODB COMMAND ${name})
  endif()
endforeach()

# busted specs: spec/<name>_spec.lua, run by stock lua5.4 with enigma.so on
# LUA_CPATH, so `require "enigma"` is tested the way users load it. A spec
# that uses the shared cluster says "needs: cluster" in a comment.
file(GLOB ENIGMA_SPECS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/spec/*_spec.lua)
foreach(src ${ENIGMA_SPECS})
  get_filename_component(name ${src} NAME_WE)
  file(STRINGS ${src} needs_cluster REGEX "needs: cluster")
  if(needs_cluster)
    enigma_test(lua/${name} LUA COMMAND lua5.4 /usr/bin/busted --output=utfTerminal ${src})
  else()
    enigma_test(lua/${name} NODB LUA COMMAND lua5.4 /usr/bin/busted --output=utfTerminal ${src})
  endif()
endforeach()

# Fuzz targets: spec/fuzz/fuzz_<parser>.c. In every build each is linked with
# spec/fuzz/driver.c and run over its seeds (spec/fuzz/corpus/<parser>/) and
# their mutations; with -DENIGMA_FUZZ=ON (clang) they are libFuzzer fuzzers
# instead: build/fuzz_<parser> spec/fuzz/corpus/<parser> -max_total_time=60.
file(GLOB ENIGMA_FUZZ_TARGETS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/spec/fuzz/fuzz_*.c)
foreach(src ${ENIGMA_FUZZ_TARGETS})
  get_filename_component(name ${src} NAME_WE)
  string(REGEX REPLACE "^fuzz_" "" parser ${name})
  if(ENIGMA_FUZZ)
    add_executable(${name} ${src})
    target_compile_options(${name} PRIVATE -fsanitize=fuzzer)
    target_link_options(${name} PRIVATE -fsanitize=fuzzer)
  else()
    add_executable(${name} ${src} ${CMAKE_SOURCE_DIR}/spec/fuzz/driver.c)
    enigma_test(fuzz/${parser} NODB COMMAND ${name} ${CMAKE_SOURCE_DIR}/spec/fuzz/corpus/${parser})
  endif()
  target_link_libraries(${name} PRIVATE enigma_core)
  # A fuzz target that hosts Lua with the sandbox says "needs: bindings".
  file(STRINGS ${src} needs_bindings REGEX "needs: bindings")
  if(needs_bindings)
    target_sources(${name} PRIVATE $<TARGET_OBJECTS:enigma_bindings>)
    target_include_directories(${name} PRIVATE ${LUA_INCLUDE_DIRS})
    target_link_libraries(${name} PRIVATE PkgConfig::LUA PkgConfig::UV)
  endif()
endforeach()

# Fault injection: spec/faults/<name>.sh, each a harness of its own (see the
# Makefile's `faults`, which runs them with FAULT_TRIALS=50); here 5 trials each,
# with homes of their own under build/faults-test (make faults uses build/faults).
file(GLOB ENIGMA_FAULT_HARNESSES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/spec/faults/*.sh)
foreach(src ${ENIGMA_FAULT_HARNESSES})
  get_filename_component(name ${src} NAME_WE)
  enigma_test(faults/${name} NODB COMMAND sh ${src})
  set(env "${ENIGMA_TEST_ENV}")
  list(APPEND env FAULT_TRIALS=5 FAULT_DIR=${CMAKE_BINARY_DIR}/faults-test)
  set_tests_properties(faults/${name} PROPERTIES TIMEOUT 900 ENVIRONMENT "${env}")
endforeach()

# Installing (spec/install_test.sh): cmake --install into a temporary prefix,
# then the program and the module from there with the source tree hidden, on
# a cluster of their own; and the rockspec through luarocks make.
enigma_test(install/prefix NODB COMMAND sh ${CMAKE_SOURCE_DIR}/spec/install_test.sh prefix ${CMAKE_BINARY_DIR} ${CMAKE_SOURCE_DIR})
enigma_test(install/rock NODB COMMAND sh ${CMAKE_SOURCE_DIR}/spec/install_test.sh rock ${CMAKE_BINARY_DIR} ${CMAKE_SOURCE_DIR})

# Fault injection (spec/faults/): kill -9 at random instants, then the invariants. A short run
# here, on a cluster of its own; `make faults` runs the full one (ENIGMA_FAULT_TRIALS, 100
# trials: the time limit is for that).
enigma_test(faults/jobs_kill NODB LUA COMMAND lua5.4 ${CMAKE_SOURCE_DIR}/spec/faults/jobs_kill.lua 4)
set_tests_properties(faults/jobs_kill PROPERTIES TIMEOUT 3600)
# ticker_spec's SIGKILL trials: ENIGMA_FAULT_TRIALS of them under `make faults`.
set_tests_properties(lua/ticker_spec PROPERTIES TIMEOUT 3600)
