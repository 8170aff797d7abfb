"""Run batched small-matrix LAPACK/BLAS calls single-threaded.

NumPy's bundled OpenBLAS threads every call; for thousands of tiny (e.g. 64 x 64) matrices
the threads only contend, and on a busy machine a batched ``eigh`` can become 10-20x slower.
:func:`single_threaded_blas` sets OpenBLAS to one thread for the duration of a block (found via
``ctypes`` in the loaded libraries; a no-op if no OpenBLAS is loaded). Thread control does not
change any result: the error bounds hold for any summation order.
"""

from __future__ import annotations

import ctypes
import threading
from contextlib import contextmanager
from functools import lru_cache

_LOCK = threading.RLock()
_NAMES = [
    ("scipy_openblas_set_num_threads64_", "scipy_openblas_get_num_threads64_"),
    ("scipy_openblas_set_num_threads", "scipy_openblas_get_num_threads"),
    ("openblas_set_num_threads64_", "openblas_get_num_threads64_"),
    ("openblas_set_num_threads", "openblas_get_num_threads"),
]


@lru_cache(maxsize=1)
def _controls():
    try:
        with open("/proc/self/maps") as fh:
            paths = sorted({ln.split()[-1] for ln in fh if "openblas" in ln.lower() and "/" in ln})
    except OSError:
        return None
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for set_name, get_name in _NAMES:
            if hasattr(lib, set_name) and hasattr(lib, get_name):
                setter, getter = getattr(lib, set_name), getattr(lib, get_name)
                setter.argtypes = [ctypes.c_int]
                getter.restype = ctypes.c_int
                return setter, getter
    return None


@contextmanager
def single_threaded_blas():
    """Context manager: OpenBLAS uses one thread inside the block (restored afterwards).

    Opt-in (``EXACTHESS_PIN_BLAS=1``): calling OpenBLAS's thread setter through ``ctypes`` was
    seen to hang when another library (e.g. torch) had loaded its own OpenBLAS, so by default
    this is a no-op."""
    import os
    ctl = _controls() if os.environ.get("EXACTHESS_PIN_BLAS") == "1" else None
    if ctl is None:
        yield
        return
    setter, getter = ctl
    with _LOCK:
        old = getter()
        setter(1)
        try:
            yield
        finally:
            setter(old)
