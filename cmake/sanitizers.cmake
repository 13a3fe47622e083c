# SPDX-License-Identifier: MIT
# FASTMC_SANITIZE=address,undefined or thread: instruments every project target.
function(fastmc_apply_sanitizers target)
  if(FASTMC_SANITIZE)
    target_compile_options(${target} PUBLIC -fsanitize=${FASTMC_SANITIZE} -fno-omit-frame-pointer
                                             -fno-sanitize-recover=all)
    target_link_options(${target} PUBLIC -fsanitize=${FASTMC_SANITIZE})
  endif()
endfunction()
