"""Resource estimates: refuse, before allocating, work that cannot fit this machine.

Entry points estimate the memory of their dense work (a dense operator, a dense SVD, an exact
characteristic polynomial) from sizes alone and call :func:`require_memory`, which raises
:class:`~exacthess.core.errors.ProblemTooLargeError` with the estimate when it exceeds
:data:`MEMORY_LIMIT_BYTES` (8 GiB, or the environment variable ``EXACTHESS_MEMORY_LIMIT_GB``).

>>> format_bytes(3 * 2**30)
'3.0 GiB'
>>> require_memory(10 * 2**30, "a dense 40000 x 40000 float64 operator")
Traceback (most recent call last):
...
exacthess.core.errors.ProblemTooLargeError: a dense 40000 x 40000 float64 operator needs about 10.0 GiB of memory; expected at most 8.0 GiB
"""

from __future__ import annotations

import os

from .errors import ProblemTooLargeError

__all__ = ["MEMORY_LIMIT_BYTES", "memory_limit", "format_bytes", "require_memory"]

#: default budget for one computation's dense work
MEMORY_LIMIT_BYTES = 8 * 2**30


def memory_limit() -> int:
    """The memory budget in bytes (``EXACTHESS_MEMORY_LIMIT_GB`` overrides the 8 GiB default)."""
    text = os.environ.get("EXACTHESS_MEMORY_LIMIT_GB")
    if text:
        try:
            value = float(text)
        except ValueError:
            value = -1.0
        if value > 0:
            return int(value * 2**30)
    return MEMORY_LIMIT_BYTES


def format_bytes(n: float) -> str:
    """``n`` bytes in KiB / MiB / GiB / TiB with one decimal."""
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} B"


def require_memory(nbytes: float, what: str, hint: str = "") -> None:
    """Raise :class:`ProblemTooLargeError` if ``nbytes`` exceeds the budget.

    Args:
        nbytes: estimated peak memory of the work.
        what: the work, in words (``"a dense 4096 x 4096 float64 operator"``).
        hint: optional advice appended to the message (what to do instead).
    """
    limit = memory_limit()
    if nbytes > limit:
        msg = f"{what} needs about {format_bytes(nbytes)} of memory; expected at most {format_bytes(limit)}"
        raise ProblemTooLargeError(msg + (f" ({hint})" if hint else ""))
