"""A candidate null vector of a generic Hessian: its value at a point, its symbolic builder, its family."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .spaces import Space

__all__ = ["Candidate"]


@dataclass
class Candidate:
    """One candidate null vector: numeric value at the point, symbolic builder, family."""

    key: tuple
    family: str
    layer: int
    numeric: np.ndarray
    build: Callable[[], dict] = field(repr=False)
    spaces: tuple | None = field(default=None, repr=False)  # (U, A) for a rank-one vector
    block: Space | None = field(default=None, repr=False)  # kernel of an H_f block column
    proof: str | None = None  # "cramer": a compensation (exacthess.generic.compensation)
