# Build speed on small machines: ccache when present, mold (or lld) as the linker.
find_program(EBB_CCACHE ccache)
if(EBB_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
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

if(EBB_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
