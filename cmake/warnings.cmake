# hubgate_warnings: the warning policy every hubgate target links PRIVATE, so dependencies never
# see our -Werror.
add_library(hubgate_warnings INTERFACE)
target_compile_options(hubgate_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Wunused
  -Woverloaded-virtual -Wnull-dereference -Wformat=2 -Wimplicit-fallthrough
  $<$<CXX_COMPILER_ID:GNU>:-Wmisleading-indentation -Wduplicated-cond -Wlogical-op>)
if(HUBGATE_WARNINGS_AS_ERRORS)
  target_compile_options(hubgate_warnings INTERFACE -Werror)
endif()
