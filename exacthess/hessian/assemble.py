"""A Hessian part's submatrix assembled from the engine's blocks.

``H[rows, cols]`` visits only the pairs of layers the selection meets and asks the engine for
exactly the selected entries of each block (:meth:`~exacthess.hessian.engine.Engine.block`). Into a
float64 matrix (the residues the checker eliminates in place) a block between two layers without
weight sharing, whose entries are computed as selected, is requested in row chunks of at most
:data:`CHUNK` entries, so its temporaries stay small next to the result.
"""

from __future__ import annotations

import numpy as np

__all__ = ["hessian_part", "CHUNK"]

#: entries of one block computed at a time into a float64 matrix
CHUNK = 1 << 24


def hessian_part(e, name: str, rows, cols, dtype=None) -> np.ndarray:
    """``name[rows, cols]`` assembled from the engine's blocks (only the blocks that are needed),
    into an array of ``dtype`` (default: the domain's own arrays)."""
    arch = e.arch
    offs, counts = arch.layer_offsets, arch.layer_param_counts
    n = arch.n_params
    rows = np.arange(n) if rows is None else np.asarray(rows, dtype=np.int64)
    cols = np.arange(n) if cols is None else np.asarray(cols, dtype=np.int64)
    layer_of = np.searchsorted(np.asarray(offs[1:] + (n,)), np.arange(n), side="right")
    out = e.ring.zeros((len(rows), len(cols))) if dtype is None else np.zeros((len(rows), len(cols)), dtype=dtype)
    for l in range(1, len(counts) + 1):
        ri = np.flatnonzero(layer_of[rows] == l - 1)
        if not len(ri):
            continue
        for m in range(1, len(counts) + 1):
            ci = np.flatnonzero(layer_of[cols] == m - 1)
            if not len(ci):
                continue
            dense = all(arch.layers[k - 1].sources.shape[1] == 1 for k in (l, m))  # entries computed as selected
            step = max(1, CHUNK // len(ci)) if dense and dtype is not None else len(ri)
            for s in range(0, len(ri), step):  # row chunks bound the temporaries of a large block
                part = ri[s:s + step]
                out[np.ix_(part, ci)] = e.block(name, l, m, rows=rows[part] - offs[l - 1], cols=cols[ci] - offs[m - 1])
    return out
