# Every test is a ctest test. They share one embedded cluster under
# build/test-home, started (and migrated, and loaded with the demo data) by
# the `cluster` fixture and stopped when the last test that needs it is done.

set(ENIGMA_TEST_HOME ${CMAKE_BINARY_DIR}/test-home)
set(ENIGMA_TEST_ENV
  ENIGMA_HOME=${ENIGMA_TEST_HOME}
  "LUA_PATH=${CMAKE_SOURCE_DIR}/bindings/lua/?.lua\;${CMAKE_SOURCE_DIR}/bindings/lua/?/init.lua\;${CMAKE_SOURCE_DIR}/spec/support/?.lua\;\;"
  "LUA_CPATH=${CMAKE_BINARY_DIR}/?.so\;\;"
  ENIGMA_BIN=$<TARGET_FILE:enigma>
  ENIGMA_SOURCE_DIR=${CMAKE_SOURCE_DIR})
# A URL in the caller's environment would point the tests at someone else's database.
set(ENIGMA_TEST_ENV_MOD ENIGMA_DATABASE_URL=unset: DATABASE_URL=unset: PGHOST=unset: PGDATABASE=unset:)

function(enigma_test name)
  cmake_parse_arguments(T "NODB" "" "COMMAND" ${ARGN})
  add_test(NAME ${name} COMMAND ${T_COMMAND} WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
  set_tests_properties(${name} PROPERTIES ENVIRONMENT "${ENIGMA_TEST_ENV}"
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
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/spec/c)
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
    enigma_test(lua/${name} COMMAND lua5.4 /usr/bin/busted --output=utfTerminal ${src})
  else()
    enigma_test(lua/${name} NODB COMMAND lua5.4 /usr/bin/busted --output=utfTerminal ${src})
  endif()
endforeach()
