file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
endfunction()

run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
set(tools)
if(GENERATOR)
  list(APPEND tools -G ${GENERATOR})
endif()
if(MAKE_PROGRAM)
  list(APPEND tools -DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM})
endif()
if(CXX_COMPILER)
  list(APPEND tools -DCMAKE_CXX_COMPILER=${CXX_COMPILER})
endif()
if(SANITIZE)
  list(APPEND tools -DCMAKE_CXX_FLAGS=-fsanitize=${SANITIZE} -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=${SANITIZE})
endif()
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/examples/embed -B ${WORK_DIR}/build ${tools} -DCMAKE_PREFIX_PATH=${prefix}
    -DCMAKE_BUILD_TYPE=Release)
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build --config Release)
set(embed ${WORK_DIR}/build/embed)
if(NOT EXISTS ${embed} AND EXISTS ${WORK_DIR}/build/Release/embed)  # a multi-config generator
  set(embed ${WORK_DIR}/build/Release/embed)
endif()

# A valid batch: exit 0 and recognised as a bid submission.
execute_process(COMMAND ${embed} ${SOURCE_DIR}/examples/dfs/bid-submission.json
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT out MATCHES "dfs.bid-submission, [0-9]+ records, 0 errors")
  message(FATAL_ERROR "embed on a valid batch: exit ${rc}\n${out}\n${err}")
endif()
if(err MATCHES "warning")
  message(FATAL_ERROR "embed reported load problems from the installed tree:\n${err}")
endif()
# A batch with mistakes: exit 1 with findings.
execute_process(COMMAND ${embed} ${SOURCE_DIR}/examples/dfs/bid-submission-with-errors.json
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 1 OR NOT out MATCHES "error")
  message(FATAL_ERROR "embed on a faulty batch: exit ${rc}\n${out}\n${err}")
endif()
message(STATUS "embed example OK:\n${out}")
