# SPDX-License-Identifier: MIT
# The project's warning set. -Werror only when FASTMC_WERROR is on (CI and the
# presets), never by default: a new compiler's new warning must not break a
# downstream build.
function(fastmc_apply_warnings target)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE
      -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion
      -Wnon-virtual-dtor -Wold-style-cast -Woverloaded-virtual)
    # GCC 12 reports -Wrestrict inside libstdc++'s std::string operator+ at
    # -O2 and above, a false positive (GCC bug 105329, fixed in GCC 13).
    if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
      target_compile_options(${target} PRIVATE -Wno-restrict)
    endif()
    if(FASTMC_WERROR)
      target_compile_options(${target} PRIVATE -Werror)
    endif()
  endif()
endfunction()
