# Build speed on small machines: ccache when present, mold (or lld) as the linker.
find_program(EBB_CCACHE ccache)
# Not for the fuzz build: its clang objects are large and would only evict the g++ builds'
# entries from the shared cache.
if(EBB_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER AND NOT EBB_FUZZ)
  # CI builds every run in a fresh clone, in a folder of its own. ccache keys hold absolute paths
  # and, with -g, the working directory: base_dir rewrites the paths under the source tree to
  # relative ones and hash_dir=false leaves the directory out, so any clone hits the entries an
  # earlier clone wrote. -ffile-prefix-map below keeps __FILE__ and debug info relative too, so
  # the objects really are the same whichever folder built them.
  set(EBB_CCACHE_LAUNCHER ${CMAKE_COMMAND} -E env CCACHE_BASEDIR=${CMAKE_SOURCE_DIR} CCACHE_NOHASHDIR=1
      ${EBB_CCACHE})
  set(CMAKE_CXX_COMPILER_LAUNCHER ${EBB_CCACHE_LAUNCHER})
  set(CMAKE_C_COMPILER_LAUNCHER ${EBB_CCACHE_LAUNCHER})
endif()
add_compile_options(-ffile-prefix-map=${CMAKE_SOURCE_DIR}/=)

find_program(EBB_MOLD mold)
find_program(EBB_LLD ld.lld)
if(EBB_MOLD)
  add_link_options(-fuse-ld=mold)
elseif(EBB_LLD)
  add_link_options(-fuse-ld=lld)
endif()

# EBB_SANITIZE=ON: ASan+UBSan. EBB_SANITIZE=thread: ThreadSanitizer (it cannot be combined with
# ASan; scripts/test.sh --tsan builds the concurrency tests with it in a directory of its own).
if(EBB_SANITIZE STREQUAL "thread")
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
elseif(EBB_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

if(EBB_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang" OR NOT CMAKE_C_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "EBB_FUZZ needs clang (libFuzzer): configure a separate build directory with "
                        "-DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 (scripts/fuzz.sh does)")
  endif()
  if(EBB_SANITIZE)
    message(FATAL_ERROR "EBB_FUZZ brings its own sanitizers: leave EBB_SANITIZE off")
  endif()
  # Every library is instrumented for coverage (fuzzer-no-link); only the fuzz executables link
  # libFuzzer's main (fuzz/CMakeLists.txt). clang's function sanitizer cannot compile coroutine
  # code (-fno-sanitize=function). Boost's own asserts are off: Boost.URL trips a BOOST_ASSERT in
  # its header-only path code on some malformed input, a bug of the library, not of ours.
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize=function
                      -fno-sanitize-recover=undefined -fno-omit-frame-pointer -DBOOST_DISABLE_ASSERTS)
  add_link_options(-fsanitize=address,undefined)
endif()
