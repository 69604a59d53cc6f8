# Build speed on small machines: ccache when present, mold (or lld) as the linker.
find_program(EBB_CCACHE ccache)
if(EBB_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${EBB_CCACHE})
  set(CMAKE_C_COMPILER_LAUNCHER ${EBB_CCACHE})
endif()

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
