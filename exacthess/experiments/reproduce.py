"""Reproductions of published tables (``exacthess reproduce ...``)."""

from __future__ import annotations

import time

from ..models.architectures import FCN
from ..verification.pipeline import verify

__all__ = ["reproduce_notebook", "NOTEBOOK"]

#: The notebook's setting (``[notebook]`` in docs/references.md) and its printed float64 ranks.
NOTEBOOK = {"input_dim": 25, "widths": (5, 10), "output_dim": 10, "n_samples": 50,
            "printed": {"H_f": 175, "H_o": 150, "H_L": 250}}


def reproduce_notebook(seed: int = 1, certify: str = "auto", point: str = "gaussian", progress=None):
    """Recompute the notebook's table exactly: d = 25, widths (5, 10), K = 10, n = 50.

    The notebook uses CIFAR inputs and Glorot parameters in float64; exacthess uses a seeded
    exact point (``point="gaussian"``: weights about ``N(0, 1/fan_in)``, data and targets
    about ``N(0, 1)`` on a dyadic grid; or ``"integers"``); the ranks depend only on
    r = rank(Sigma_xx) = 25 and genericity, so both give 175 / 150 / 250.

    ``progress``: optional callable receiving short messages (as :func:`~exacthess.verify`).

    Returns:
        ``(report, rows, seconds)`` with rows ``(quantity, exact, notebook, match)``.
    """
    t0 = time.perf_counter()
    arch = FCN(NOTEBOOK["input_dim"], NOTEBOOK["widths"], NOTEBOOK["output_dim"])
    report = verify(arch, n_samples=NOTEBOOK["n_samples"], seed=seed, certify=certify, point=point, progress=progress)
    rows = [(q, report.ranks[q], v, report.ranks[q] == v) for q, v in NOTEBOOK["printed"].items()]
    return report, rows, time.perf_counter() - t0
