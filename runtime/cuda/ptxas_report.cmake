# Joins the ptxas -v logs of ditc_cuda_kernels' translation units (written by
# ptxas_log.sh) into one report, each under a "== <file.cu> ==" header:
#   cmake -DDITC_PTXAS_DIR=<dir> -DDITC_PTXAS_SOURCES=<a.cu;b.cu>
#         -DDITC_PTXAS_ARCHS=<80;90a> -DDITC_PTXAS_REPORT=<file>
#         -P ptxas_report.cmake
set(report "# ptxas -v of libditc_cuda_kernels.a, DITC_CUDA_ARCHS ${DITC_PTXAS_ARCHS}\n")
foreach(src IN LISTS DITC_PTXAS_SOURCES)
  set(log "${DITC_PTXAS_DIR}/${src}.log")
  if(NOT EXISTS "${log}")
    message(FATAL_ERROR "no ptxas log for ${src} (${log}): rebuild "
      "ditc_cuda_kernels")
  endif()
  file(READ "${log}" text)
  string(APPEND report "== ${src} ==\n${text}")
endforeach()
file(WRITE "${DITC_PTXAS_REPORT}" "${report}")
