# SPDX-License-Identifier: MIT
# The project's warning set. -Werror only when FASTMC_WERROR is on (CI and the
# presets), never by default: a new compiler's new warning must not break a
# downstream build.
function(fastmc_apply_warnings target)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE
      -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion
      -Wnon-virtual-dtor -Wold-style-cast -Woverloaded-virtual)
    if(FASTMC_WERROR)
      target_compile_options(${target} PRIVATE -Werror)
    endif()
  endif()
endfunction()
