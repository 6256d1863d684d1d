# hubgate_warnings: the warning policy every hubgate target links PRIVATE, so dependencies never
# see our -Werror.
add_library(hubgate_warnings INTERFACE)
target_compile_options(hubgate_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Wunused
  -Woverloaded-virtual -Wformat=2 -Wimplicit-fallthrough
  $<$<CXX_COMPILER_ID:GNU>:-Wmisleading-indentation -Wduplicated-cond -Wlogical-op
                              # g++ 12 misreads the frame allocator of Asio coroutines (GCC PR 109224).
                              -Wno-mismatched-new-delete
                              # ...and yaml-cpp 0.7's Node temporaries (a known g++ 12 false positive).
                              -Wno-dangling-pointer>)
if(HUBGATE_WARNINGS_AS_ERRORS)
  target_compile_options(hubgate_warnings INTERFACE -Werror)
endif()
