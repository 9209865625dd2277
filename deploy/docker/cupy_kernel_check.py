"""Can CuPy compile (and run) the kernels losskit uses? The GPU image's own check.

CuPy compiles every elementwise and reduction kernel at run time with NVRTC,
and the code it compiles includes ``<cuda_fp16.h>`` (through CuPy's
``cupy/float16.cuh``) and the CUDA runtime headers that file needs. CuPy 14
wheels ship none of them: they come from a CUDA toolkit, from conda-forge, or
from PyPI (``pip install 'cupy-cuda12x[ctk]'``). Without them ``import cupy``
and ``cupy.cuda.is_available()`` both succeed, and the first kernel fails
with ``NVRTC_ERROR_COMPILATION ... cannot open source file "cuda_fp16.h"``.

    python cupy_kernel_check.py --compile-only   # no GPU or driver needed (the image build)
    python cupy_kernel_check.py                  # on a GPU: run real CuPy kernels

``--compile-only`` finds the headers the way CuPy 14 does (``cuda.pathfinder``:
NVIDIA wheels, then conda, then ``CUDA_HOME``/``CUDA_PATH``) and compiles CuPy's
float16 header plus a small kernel with NVRTC. It proves the headers and NVRTC
are there; only the full run proves that the driver runs what was compiled.

Exit status: 0 passed, 1 failed (the message says what is missing).
"""

from __future__ import annotations

import argparse
import ctypes
import sys
from pathlib import Path

FIX = "install CuPy with its CUDA components from PyPI: pip install 'cupy-cuda12x[ctk]>=14'"

KERNEL = r"""
#include <cupy/float16.cuh>
extern "C" __global__ void losskit_check_twice(const float* x, float* y, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = float(float16(x[i])) * 2.0f;
}
"""


def fail(message: str) -> int:
    print(f"cupy_kernel_check: FAILED: {message}", file=sys.stderr)
    return 1


def compile_only() -> int:
    """Compile CuPy's float16 header and a kernel with NVRTC, on the host only."""
    try:
        import cupy
        from cuda import pathfinder
    except ImportError as exc:
        return fail(f"{exc}; {FIX}")
    headers = pathfinder.find_nvidia_header_directory("cudart")
    if headers is None or not (Path(headers) / "cuda_fp16.h").is_file():
        return fail(f"no CUDA runtime headers (cuda_fp16.h) where CuPy looks for them; {FIX}")
    try:
        nvrtc = ctypes.CDLL(pathfinder.load_nvidia_dynamic_lib("nvrtc").abs_path)
    except Exception as exc:  # pathfinder raises its own DynamicLibNotFoundError
        return fail(f"cannot load NVRTC ({exc}); {FIX}")

    major, minor = ctypes.c_int(), ctypes.c_int()
    nvrtc.nvrtcVersion(ctypes.byref(major), ctypes.byref(minor))
    cupy_headers = Path(cupy.__file__).parent / "_core" / "include"
    options = [f"-I{cupy_headers}", f"-I{headers}", "-arch=compute_75", "-std=c++17"]
    program = ctypes.c_void_p()
    status = nvrtc.nvrtcCreateProgram(
        ctypes.byref(program), KERNEL.encode(), b"losskit_check.cu", 0, None, None
    )
    if status != 0:
        return fail(f"nvrtcCreateProgram returned {status}")
    argv = (ctypes.c_char_p * len(options))(*(o.encode() for o in options))
    status = nvrtc.nvrtcCompileProgram(program, len(options), argv)
    size = ctypes.c_size_t()
    nvrtc.nvrtcGetProgramLogSize(program, ctypes.byref(size))
    log = ctypes.create_string_buffer(size.value)
    nvrtc.nvrtcGetProgramLog(program, log)
    nvrtc.nvrtcDestroyProgram(ctypes.byref(program))
    if status != 0:
        return fail(f"NVRTC cannot compile CuPy's kernel headers:\n{log.value.decode()}\n{FIX}")
    print(
        f"cupy_kernel_check: compile-only OK: CuPy {cupy.__version__}, "
        f"NVRTC {major.value}.{minor.value}, CUDA headers in {headers}"
    )
    return 0


def run_on_gpu() -> int:
    """Build and run an ElementwiseKernel and a ReductionKernel, as losskit's CuPy path does."""
    import cupy

    if not cupy.cuda.is_available():
        return fail("no usable CUDA GPU (cupy.cuda.is_available() is False); use a GPU server")
    twice = cupy.ElementwiseKernel("T x", "T y", "y = x * 2", "losskit_check_twice")
    total = cupy.ReductionKernel("T x", "T y", "x", "a + b", "y = a", "0", "losskit_check_sum")
    x = cupy.arange(8, dtype=cupy.float32)
    try:
        doubled = twice(x).get().tolist()
        summed = float(total(x))
        halved = (x.astype(cupy.float16) / 2).get().tolist()
    except Exception as exc:  # NVRTC errors surface here, at first use
        return fail(f"CuPy could not compile or run a kernel: {exc}\n{FIX}")
    if doubled != [2.0 * i for i in range(8)] or summed != 28.0 or halved[3] != 1.5:
        return fail(f"wrong results: {doubled}, {summed}, {halved}")
    runtime = cupy.cuda.runtime
    name = runtime.getDeviceProperties(0)["name"].decode()
    print(
        f"cupy_kernel_check: GPU OK: {name}, CuPy {cupy.__version__}, "
        f"CUDA runtime {runtime.runtimeGetVersion()}, driver supports {runtime.driverGetVersion()}"
    )
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--compile-only", action="store_true", help="NVRTC compile only; needs no GPU or driver"
    )
    args = parser.parse_args(argv)
    return compile_only() if args.compile_only else run_on_gpu()


if __name__ == "__main__":
    sys.exit(main())
