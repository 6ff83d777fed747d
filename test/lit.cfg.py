# -*- Python -*-
# lit configuration for the ditc regression suite.

import os
import shutil
import subprocess
import sys

import lit.formats
from lit.llvm import llvm_config

config.name = "DITC"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".onnxtxt", ".test"]
# Unit/ is not excluded: it is a suite of its own (GoogleTest binaries, see
# Unit/lit.cfg.py) that lit picks up through build/test/Unit/lit.site.cfg.py
# when it walks into it, so its sources are never read as ShTests here.
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "Inputs",
                   "fixtures"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.ditc_obj_root, "test")

llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
# Where the GPU tests find the CUDA libraries they load at run time.
llvm_config.with_system_environment(["LD_LIBRARY_PATH", "DITC_CUBLASLT_LIBRARY"])

tool_dirs = [config.ditc_tools_dir, config.llvm_tools_dir]
llvm_config.add_tool_substitutions(["ditc", "ditc-opt"], tool_dirs)

config.substitutions.append(("%fixtures", os.path.join(config.ditc_src_root, "test", "fixtures")))
config.substitutions.append(("%python", "/usr/bin/python3"))
# Python with the onnx 1.19.1 that .ci/setup.sh installs into build/pylib.
config.substitutions.append(("%onnxpy", "env PYTHONPATH=%s /usr/bin/python3"
                             % os.path.join(config.ditc_obj_root, "pylib")))
config.substitutions.append(("%srcroot", config.ditc_src_root))
# The venv with torch and diffusers that .ci/setup.sh makes for the Python
# package's tests (test/Python/pytest-venv.test). A missing venv fails that
# test (its Python is not found); it is not skipped.
config.substitutions.append(("%venv_python", os.path.join(
    os.environ.get("DITC_VENV", "/opt/ditc-venv"), "bin", "python")))

# The ONNX backend node tests: Debian's libonnx-testdata (ONNX 1.12) and the
# newer copy that .ci/run unpacks from the PyPI onnx wheel into the build tree.
config.substitutions.append(("%onnx_node_tests", "/usr/share/libonnx-testdata/data/node"))
config.substitutions.append(("%onnx_new_node_tests",
                             os.path.join(config.ditc_obj_root, "onnx-node-tests", "node")))
config.substitutions.append(("%objroot", config.ditc_obj_root))

# The runtime's mpi communicator (test/Runtime/comm-mpi*.test): built when
# CMake found MPI, run with mpirun. As root (CI) Open MPI wants
# --allow-run-as-root; --oversubscribe allows more ranks than cores; no
# single-copy (CMA) transfers between ranks, which containers often forbid.
if config.ditc_have_mpi.upper() in ("ON", "1", "TRUE") and shutil.which("mpirun"):
    config.available_features.add("mpi")
config.substitutions.append(
    ("%mpirun", "mpirun --allow-run-as-root --oversubscribe "
     "--mca btl_vader_single_copy_mechanism none"))
config.substitutions.append(
    ("%comm_mpi", os.path.join(config.ditc_obj_root, "test", "Unit", "RuntimeCommMpi")))
# The nccl communicator (test/Runtime/comm-nccl.test): built with mpi, it
# loads NCCL and the CUDA runtime when used. "nccl" only when
# ditc_rt_comm_backend_available("nccl") is 1 here (the libraries load and a
# device exists), asked in a child process so a broken driver cannot hang lit.
if "mpi" in config.available_features:
    _rt = os.path.join(config.ditc_obj_root, "lib", "libditc_runtime.so")
    _probe = ("import ctypes, sys; "
              "sys.exit(0 if ctypes.CDLL(sys.argv[1])"
              ".ditc_rt_comm_backend_available(b'nccl') == 1 else 1)")
    try:
        if os.path.exists(_rt) and subprocess.run(
                [sys.executable, "-c", _probe, _rt], timeout=60,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL).returncode == 0:
            config.available_features.add("nccl")
    except subprocess.TimeoutExpired:
        pass
config.substitutions.append(
    ("%mpi_traffic", os.path.join(config.ditc_obj_root, "test", "Unit", "libditc_mpi_traffic.so")))
config.substitutions.append(
    ("%model_mpi", os.path.join(config.ditc_obj_root, "test", "Unit", "RuntimeModelMpi")))

# The runtime built with AddressSanitizer and UndefinedBehaviorSanitizer
# (DITC_SANITIZED_RUNTIME, on by default: CI builds it) for test/Sanitize.
# Model libraries linked against it run in processes that were not built
# with ASan (ditc run): its runtime is preloaded there.
if config.ditc_sanitized_runtime.upper() in ("ON", "1", "TRUE"):
    config.available_features.add("sanitized-runtime")
    config.substitutions.append(
        ("%sanitized", os.path.join(config.ditc_obj_root, "runtime-sanitized")))
    _asan = subprocess.run(["cc", "-print-file-name=libasan.so"],
                           capture_output=True, text=True).stdout.strip()
    config.substitutions.append(("%asan_preload", _asan))

# The CUDA kernels (runtime/cuda): "cuda-toolkit" when CMake found a CUDA
# compiler and built them (test/Cuda/ptxas-spills.test), "cuda" when a GPU is
# here too (nvidia-smi -L lists one; test/Cuda/kernels.test).
if (config.ditc_rt_cuda.upper() in ("ON", "1", "TRUE") and
        config.ditc_cuda_compiler and
        not config.ditc_cuda_compiler.endswith("NOTFOUND")):
    config.available_features.add("cuda-toolkit")
    try:
        _smi = subprocess.run(["nvidia-smi", "-L"], timeout=60,
                              capture_output=True, text=True)
        if _smi.returncode == 0 and "GPU" in _smi.stdout:
            config.available_features.add("cuda")
    except (OSError, subprocess.TimeoutExpired):
        pass
