"""Resource estimates: refuse, before allocating, work that cannot fit this machine.

Entry points estimate the memory of their dense work (a dense operator, a dense SVD, an exact
characteristic polynomial) from sizes alone and call :func:`require_memory`, which raises
:class:`~exacthess.core.errors.ProblemTooLargeError` with the estimate when it exceeds
:func:`memory_limit` (12 GiB or three quarters of the machine's memory, whichever is smaller, or
the environment variable ``EXACTHESS_MEMORY_LIMIT_GB``).

>>> format_bytes(3 * 2**30)
'3.0 GiB'
>>> require_memory(2**50, "a dense 12000000 x 12000000 float64 operator")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
exacthess.errors.ProblemTooLargeError: a dense 12000000 x 12000000 float64 operator needs about 1.0 PiB of memory; expected at most ... GiB
"""

from __future__ import annotations

import os

from .errors import ProblemTooLargeError

__all__ = ["MEMORY_LIMIT_BYTES", "EXACT_ENTRY_BYTES", "memory_limit", "format_bytes", "format_seconds", "require_memory",
           "hessian_floor_bytes"]

#: default budget for one computation's dense work (at most three quarters of the machine's memory)
MEMORY_LIMIT_BYTES = 12 * 2**30
#: bytes of one exact rational in an object array (pointer, FLINT ``fmpq`` object, limbs of a typical entry)
EXACT_ENTRY_BYTES = 72


def memory_limit() -> int:
    """The memory budget in bytes: ``EXACTHESS_MEMORY_LIMIT_GB`` when set, else 12 GiB or three
    quarters of the machine's physical memory, whichever is smaller."""
    text = os.environ.get("EXACTHESS_MEMORY_LIMIT_GB")
    if text:
        try:
            value = float(text)
        except ValueError:
            value = -1.0
        if value > 0:
            return int(value * 2**30)
    return min(MEMORY_LIMIT_BYTES, _physical() * 3 // 4) if _physical() else MEMORY_LIMIT_BYTES


def _physical() -> int:
    """The machine's physical memory in bytes (0 when the system does not say)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 0


def format_bytes(n: float) -> str:
    """``n`` bytes in KiB / MiB / GiB / TiB / PiB with one decimal (very large: in PiB, exponent form).

    >>> format_bytes(512), format_bytes(1.5 * 2**20), format_bytes(3e21)
    ('512 B', '1.5 MiB', '2.7e+06 PiB')
    """
    if n >= 10_000 * 2**50:
        return f"{n / 2**50:.1e} PiB"
    for unit, size in (("PiB", 2**50), ("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} B"


def format_seconds(s: float) -> str:
    """A coarse duration: ``"~3 s"``, ``"~4 min"``, ``"~2 h"``, ``"~5 days"``, ``"~1e+04 years"``.

    >>> format_seconds(0.2), format_seconds(250), format_seconds(3e5), format_seconds(1e12)
    ('< 1 s', '~4 min', '~3 days', '~3.2e+04 years')
    """
    if s < 1:
        return "< 1 s"
    for unit, size in (("years", 365 * 86400), ("days", 86400), ("h", 3600), ("min", 60)):
        if s >= 2 * size if unit != "min" else s >= 120:
            v = s / size
            return f"~{v:.1e} {unit}" if v >= 10_000 else f"~{v:.0f} {unit}"
    return f"~{s:.0f} s"


def hessian_floor_bytes(n_params: int) -> int:
    """The least memory any Hessian computation on a whole network of ``n_params`` parameters holds:
    its exact parameters and one ``p x p`` Hessian modulo a prime (8 bytes an entry). ``verify``,
    the matrices of ``exacthess.hessian``, ``exacthess.check`` and ``exacthess.gauss_newton_gap``
    hold several such matrices, or exact ones (``exacthess.from_torch`` refuses below this floor).

    >>> format_bytes(hessian_floor_bytes(9_000_000))
    '589.4 TiB'
    """
    p = int(n_params)
    return p * EXACT_ENTRY_BYTES + 8 * p * p


def require_memory(nbytes: float, what: str, hint: str = "", cli_hint: str | None = None) -> None:
    """Raise :class:`ProblemTooLargeError` if ``nbytes`` exceeds the budget.

    Args:
        nbytes: estimated peak memory of the work.
        what: the work, in words (``"a dense 4096 x 4096 float64 operator"``).
        hint: optional advice appended to the message (what to do instead).
        cli_hint: the advice as the command line spells it, when it differs (the error's ``cli``).
    """
    limit = memory_limit()
    if nbytes > limit:
        msg = f"{what} needs about {format_bytes(nbytes)} of memory; expected at most {format_bytes(limit)}"
        raise ProblemTooLargeError(msg + (f" ({hint})" if hint else ""),
                                   cli=msg + f" ({cli_hint})" if cli_hint else None)
