r"""Memory and time of a Hessian computation, estimated from sizes alone, before anything is allocated.

Every entry point that builds Hessians (:func:`exacthess.verify`, :func:`exacthess.hessian` and
its matrices, :func:`exacthess.gauss_newton_gap`, the claims, ``exacthess sweep``) asks
:func:`require_fits` first; it raises :class:`~exacthess.core.errors.ProblemTooLargeError` (a
``ValueError``) with the estimate, the parameter count and what dominates when the peak memory
exceeds the budget of :mod:`exacthess.core.resources` (12 GiB or three quarters of the machine's
memory, whichever is smaller; ``EXACTHESS_MEMORY_LIMIT_GB`` overrides it).

The model (``p`` parameters, ``n`` samples, ``n0 = d (+1)`` data coordinates, ``K`` outputs,
``E = 72`` bytes per exact rational -- an object pointer, a FLINT ``fmpq`` and its limbs --, 8 per
residue modulo a prime or float64):

* the exact point: parameters ``p E``, data ``n (d + K) E``, statistics ``Sigma~``, ``R``, ``G``
  about ``(2 n0^2 + n n0) E``;
* per domain, the dense layer operators (:func:`~exacthess.models.toeplitz.operator_bytes`) and
  the products between layers; the stacked Jacobian ``r K x p`` (``r = min(n, n0)``), or, on the
  per-sample route (nonlinear activations, non-quadratic losses), the exact forward pass
  ``~4 n sum_l dim(l) E``, backpropagated gradients ``n K sum_l n_l`` and the per-sample Jacobian
  ``n K x p``;
* certification (``verify``): the core ``H[I, I]`` (``|I| <= p``) modulo a prime, assembled
  straight into float64 and eliminated in place by the checker (``8 p^2``), the exact core (at
  most ``1500^2 E``). A proposal that fails and needs more (the rank profile of a core that is not
  of full rank, two primes and magnitudes when no structure applies) sizes that step again before
  allocating it (:func:`~exacthess.core.resources.require_memory`). The float32 / float64 columns
  are sized by :func:`exacthess.verification.floats.float_cost` (``verify_cost`` and the ``floats``
  part of ``verify_plan`` leave them out);
* full matrices (``HessianResult.H_L`` ...): ``p^2`` entries of the domain each.

It is an estimate, meant to be within a small factor: the notebook-scale networks need a few
hundred MB, the 7,648-parameter FCN of the benchmarks is estimated at about 1.5 GiB (its measured
peak is about 1 GiB). Times are coarse orders of magnitude on a 2-core machine (``verify``: ``5e-7 p^2 + 3e-11 p^3``
s to form the Hessians modulo a prime and rank their cores -- 26 s measured at 7,648
parameters, 49 s at 11,000; ``1.2e-9`` s per exact multiply-add in FLINT matrices, ``3e-7`` s
per multiply-add of Python objects, ``2.3e-10 n^3`` s for a rank modulo a prime).

>>> from exacthess import FCN
>>> cost = verify_cost(FCN(25, (5, 10), 10), 50)
>>> cost.n_params, cost.peak < 2**30
(275, True)
>>> require_fits(verify_cost(FCN(10**5, (10**5,), 10), 2 * 10**5))  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
exacthess.errors.ProblemTooLargeError: verify of FCN(input_dim=100000, ...) (10,001,000,000 parameters, n = 200000 samples) needs about ... PiB of memory; expected at most ... (mostly the stacked Jacobian (1000000 x 10001000000) over GF(2147483629); ...)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..core.domains import GF, QQ, SR, Ring
from ..core.resources import EXACT_ENTRY_BYTES, format_bytes, format_seconds, memory_limit, require_memory
from ..models.toeplitz import operator_bytes

__all__ = ["Cost", "graph_cost", "problem_cost", "engine_cost", "verify_cost", "verify_plan", "hessian_cost", "matrices_cost", "core_size",
           "gap_cost", "require_fits", "sample_count", "sample_free", "entry_bytes", "EXACT_ENTRY_BYTES"]

#: bytes of one sympy expression (symbolic Hessians are for tiny networks)
SYMBOLIC_ENTRY_BYTES = 512
#: the exact (QQ) core is formed only up to this size (:data:`exacthess.certify.pipeline.GENERIC_CORE_LIMIT`)
EXACT_CORE_LIMIT = 1500
#: entries of the largest temporary of the per-sample route (:mod:`exacthess.hessian.persample`)
PER_SAMPLE_CHUNK = 20_000_000

# seconds per unit of work (this machine's order of magnitude; coarse)
_RANK_MOD_P = 2.3e-10  # per n^3 of a rank modulo a prime
_FLINT_MAC = 1.2e-9  # per multiply-add in fmpq_mat products
_OBJECT_MAC = 3e-7  # per multiply-add of Python objects (numpy object arrays)
# verify: measured 26 s at p = 7648 and 49 s at p = 11000 (FCNs, the cores have about rank size)
_FORM_MOD_P = 5e-7  # per entry of the p x p Hessians formed modulo a prime
_RANK_CORES = 3e-11  # per p^3: ranks of the cores (of about the rank's size) modulo primes
# the per-sample route (nonlinear activations, non-quadratic losses): measured about 240 s for
# p = 1870, n = 300, K = 10 on a busy 2-core machine (ReLU, cross-entropy)
_PER_SAMPLE_MAC = 1.5e-9  # per multiply-add of the per-sample products modulo a prime
_PER_SAMPLE_FORMS = 12  # times the per-sample sums are formed (H_o, H_f, H_L; two primes; the checks)


def entry_bytes(ring: Ring) -> int:
    """Bytes of one entry of a matrix over ``ring``."""
    if ring is QQ:
        return EXACT_ENTRY_BYTES
    if ring is SR:
        return SYMBOLIC_ENTRY_BYTES
    return 4 if getattr(getattr(ring, "dtype", None), "itemsize", 8) == 4 else 8


@dataclass(frozen=True)
class Cost:
    """Estimated peak memory and time of one computation.

    Attributes:
        what: the computation, in words (``"verify of FCN(...)"``).
        n_params: parameters ``p``.
        n_samples: samples ``n``.
        memory: ``(part, bytes)`` of everything held at the peak.
        time: ``(stage, seconds)`` of the stages.
    """

    what: str
    n_params: int
    n_samples: int
    memory: tuple = ()
    time: tuple = ()

    @property
    def peak(self) -> float:
        """Estimated peak memory in bytes (the parts are held together)."""
        return float(sum(b for _, b in self.memory))

    @property
    def seconds(self) -> float:
        """Estimated time in seconds (coarse)."""
        return float(sum(s for _, s in self.time))

    @property
    def largest(self) -> str:
        """The part that dominates the memory."""
        return max(self.memory, key=lambda kv: kv[1])[0] if self.memory else "nothing"

    @property
    def slowest(self) -> str:
        """The stage that dominates the time."""
        return max(self.time, key=lambda kv: kv[1])[0] if self.time else "nothing"

    def __add__(self, other: "Cost") -> "Cost":
        return Cost(self.what, self.n_params, self.n_samples, self.memory + other.memory, self.time + other.time)

    def summary(self) -> str:
        """``"about 1.5 GiB of memory (mostly ...) and ~1 min (mostly ...)"``."""
        return (f"about {format_bytes(self.peak)} of memory (mostly {self.largest}) and "
                f"{format_seconds(self.seconds)} (mostly {self.slowest})")


def _layers(arch):
    return arch.layers


def _dims(arch) -> list[int]:
    """``dim(l)`` for ``l = 0..L+1`` (augmented sizes; a graph: every node's size)."""
    if getattr(arch, "family", None) == "graph":
        return [math.prod(s) for s in arch.shapes.values()]
    aug = int(arch.bias)
    layers = _layers(arch)
    return [layers[0].n_in + aug] + [layer.n_out + aug for layer in layers]


def problem_cost(arch, n_samples: int, *, sample_free: bool = True) -> Cost:
    """The exact point: parameters, data, statistics, and the exact forward pass when needed."""
    E = EXACT_ENTRY_BYTES
    p, n = arch.n_params, int(n_samples)
    d, K = arch.input_dim, arch.output_dim
    n0 = d + int(arch.bias)
    mem = [("the exact parameters", p * E), ("the exact data X, Y", n * (d + K) * E),
           ("the data statistics Sigma~, R, G", (2 * n0 * n0 + n * n0 + K * n0) * E)]
    time = [("the exact data statistics", n * n0 * n0 * _FLINT_MAC)]
    if not sample_free:
        dims = _dims(arch)
        mem.append(("the exact forward pass", 4 * n * sum(dims) * E))
        macs = n * sum(layer.n_nonzeros for layer in _layers(arch))
        time.append(("the exact forward pass", macs * _OBJECT_MAC))
    return Cost(f"{arch!r}", p, n, tuple(mem), tuple(time))


def engine_cost(arch, n_samples: int, ring: Ring, *, sample_free: bool = True) -> Cost:
    """One engine over ``ring``: operators, products between layers, Jacobians."""
    e = entry_bytes(ring)
    p, n, K = arch.n_params, int(n_samples), arch.output_dim
    aug = bool(arch.bias)
    dims = _dims(arch)
    layers = _layers(arch)
    ops = sum(operator_bytes(layer, ring, aug) for layer in layers)
    pairs = sum(dims[l] * dims[m - 1] for l in range(len(layers)) for m in range(l + 2, len(layers) + 1))
    mem = [(f"the layer operators over {ring}", ops), (f"products of operators over {ring}", (pairs + K * sum(dims)) * e)]
    r = min(n, dims[0])
    if sample_free:
        mem.append((f"the stacked Jacobian ({r * K} x {p}) over {ring}", r * K * p * e))
    else:
        mem.append((f"per-sample gradients and Jacobians over {ring}", (n * K * sum(dims) + n * K * p) * e))
        temp = min(PER_SAMPLE_CHUNK, n * max(dims) ** 2 + n * K * p)
        mem.append((f"per-sample temporaries over {ring}", 3 * temp * e))
    macs = sum(dims[l] * dims[l + 1] * dims[0] for l in range(len(layers)))
    unit = _OBJECT_MAC if ring in (QQ, SR) else 1e-9
    return Cost(f"{arch!r}", p, n, tuple(mem), ((f"operator products over {ring}", macs * unit),))


def _sample_free(arch, loss) -> bool:
    return arch.activation.is_linear and loss.quadratic and not loss.weights


def sample_free(arch, loss=None) -> bool:
    """Whether the Hessians of ``arch`` with ``loss`` (a name or a :class:`~exacthess.models.losses.Loss`)
    are formed from the data statistics alone (linear network, quadratic loss), not sample by sample."""
    from ..models.losses import loss as parse_loss
    return _sample_free(arch, parse_loss("mse" if loss is None else loss))


def _per_sample_seconds(arch, n_samples: int) -> float:
    """The per-sample route forms ``sum_i J_i^T A_i J_i`` (``n K p^2`` multiply-adds) several times:
    modulo primes for the lower bounds and the cores, and again while certificates are checked."""
    return _PER_SAMPLE_FORMS * _PER_SAMPLE_MAC * float(n_samples) * arch.output_dim * float(arch.n_params) ** 2


def verify_cost(arch, n_samples: int, *, loss=None) -> Cost:
    """Peak memory and time of :func:`exacthess.verify` (exact point, QQ and GF(p) engines, cores)."""
    free = sample_free(arch, loss)
    p = arch.n_params
    gf = GF(2147483629)
    cost = problem_cost(arch, n_samples, sample_free=free) + engine_cost(arch, n_samples, gf, sample_free=free)
    qq = engine_cost(arch, n_samples, QQ, sample_free=free)
    core = min(p, EXACT_CORE_LIMIT)
    side = core_size(arch, n_samples) if free else p
    mem = [(qq.memory[0][0], qq.memory[0][1]),
           (f"the {side} x {side} core H[I, I] modulo a prime in float64, eliminated in place", 8 * side * side),
           (f"the exact core (at most {core} x {core})", core * core * EXACT_ENTRY_BYTES)]
    time = [(f"forming and ranking the {side} x {side} cores modulo a prime",
             _FORM_MOD_P * float(side) ** 2 + _RANK_CORES * float(side) ** 3)]
    if not free:
        time.append(("forming the Hessians sample by sample", _per_sample_seconds(arch, n_samples)))
    out = cost + Cost("", p, int(n_samples), tuple(mem), tuple(time))
    return Cost(f"verify of {arch!r}", p, int(n_samples), out.memory, out.time)


def core_size(arch, n_samples: int) -> int:
    """The side of the largest core ``H[I, I]`` that certifying a linear network forms, estimated from
    sizes: the structure chooses ``|I|`` about the rank of ``H_L``, at most ``rank H_o + rank H_f``
    with ``rank H_o <= r K`` (``r`` the rank of the data) and, for fully connected networks,
    ``rank H_f <= 2 s (M_1 + ... + M_L)``, ``s = min(r, K)`` (the rank formulas of Singh et al.,
    2021); ``p`` for other networks. An estimate for sizing only: the certifier sizes the core it
    actually chose again before forming it."""
    p, K = arch.n_params, arch.output_dim
    r = min(int(n_samples), arch.input_dim + int(arch.bias))
    widths = getattr(arch, "widths", None)
    if widths is None:
        return p
    return int(min(p, r * K + 2 * min(r, K) * (sum(widths) + int(arch.bias) * len(widths))))


def verify_plan(arch, n_samples: int, *, loss=None) -> list:
    """The parts of :func:`exacthess.verify` with their estimated seconds, in order, for its running
    estimate (:class:`~exacthess.core.progress.Tracker`): ``point``, ``H_o``, ``H_f``, ``H_L``,
    ``statements`` (the further ranks the statements need), ``floats``, ``verdicts``.

    >>> from exacthess import FCN
    >>> [part for part, _ in verify_plan(FCN(25, (5, 10), 10), 50)]
    ['point', 'H_o', 'H_f', 'H_L', 'statements', 'floats', 'verdicts']
    """
    free = sample_free(arch, loss)
    p = arch.n_params
    point = problem_cost(arch, n_samples, sample_free=free).seconds
    gf = engine_cost(arch, n_samples, GF(2147483629), sample_free=free).seconds
    side = core_size(arch, n_samples) if free else p
    ranks = gf + _FORM_MOD_P * float(side) ** 2 + _RANK_CORES * float(side) ** 3
    if not free:
        ranks += _per_sample_seconds(arch, n_samples)
    return [("point", point), ("H_o", ranks / 3), ("H_f", ranks / 3), ("H_L", ranks / 3),
            ("statements", 0.05 * ranks), ("floats", 0.0), ("verdicts", 0.05 * ranks)]


def hessian_cost(arch, n_samples: int, ring: Ring = QQ, *, loss=None) -> Cost:
    """:func:`exacthess.hessian`: the exact point and one engine (the matrices come later)."""
    from ..models.losses import loss as parse_loss
    free = _sample_free(arch, parse_loss("mse" if loss is None else loss))
    out = problem_cost(arch, n_samples, sample_free=free) + engine_cost(arch, n_samples, ring, sample_free=free)
    return Cost(f"the Hessians of {arch!r} over {ring}", arch.n_params, int(n_samples), out.memory, out.time)


def matrices_cost(arch, ring: Ring, count: int = 1, rows: int | None = None, cols: int | None = None) -> Cost:
    """``count`` dense matrices of ``rows x cols`` entries (default ``p x p``) over ``ring``."""
    p = arch.n_params
    rows = p if rows is None else rows
    cols = p if cols is None else cols
    e = entry_bytes(ring)
    unit = _OBJECT_MAC if ring in (QQ, SR) else 1e-9
    inner = max(_dims(arch))
    what = f"{count} dense {rows} x {cols} matri{'ces' if count > 1 else 'x'} over {ring}"
    return Cost(what, p, 0, ((what, count * rows * cols * e),),
                ((f"the entries of {what}", count * float(rows) * cols * inner * unit),))


def gap_cost(arch, n_samples: int, *, loss=None) -> Cost:
    """:func:`exacthess.gauss_newton_gap`: the exact point, a QQ engine and about six ``p x p`` matrices
    over QQ (``G``, the two parts of ``C``, their sums, ``H_L``) plus their certified ranks."""
    p = arch.n_params
    base = hessian_cost(arch, n_samples, QQ, loss=loss) + matrices_cost(arch, QQ, 6)
    ranks = Cost("", p, 0, (), ((f"certified ranks of {p} x {p} matrices", 2 * _RANK_MOD_P * float(p) ** 3),))
    out = base + ranks
    return Cost(f"the Gauss-Newton split of {arch!r}", p, int(n_samples), out.memory, out.time)


def graph_cost(arch, n_samples: int, ring: Ring = QQ) -> Cost:
    """A graph network's Hessians (:mod:`exacthess.hessian.graph_route`): per sample the Jacobians of
    every node (``sum(dims) x p``) and their products with the layers' operators, and ``H_o``, ``H_f``."""
    p, dims = arch.n_params, _dims(arch)
    e = entry_bytes(ring)
    unit = _OBJECT_MAC if ring in (QQ, SR) else 1e-9
    memory = (("the Jacobians of every node, one sample", float(sum(dims)) * p * e), ("H_o and H_f", 2.0 * p * p * e))
    work = sum(math.prod(arch.shapes[n.name]) * math.prod(arch.shapes[n.inputs[0]]) for n in arch.nodes
               if n.op in ("linear", "conv", "batchnorm"))
    time = ((f"{n_samples} samples' Jacobians and products", float(n_samples) * p * (work + sum(dims) + p) * unit),)
    return Cost(f"the Hessians of {arch!r} over {ring}", p, int(n_samples), memory, time)


def sample_count(arch, n_samples, data) -> int:
    """The number of samples a computation will use: the rows of ``data`` when given (read without
    converting it; 1 when it cannot be read, the full validation comes later), else ``n_samples``
    (default ``2 d``)."""
    if data is not None:
        try:
            return max(1, len(data[0]))
        except Exception:  # malformed data: make_problem says what is wrong with it
            return 1
    return 2 * arch.input_dim if n_samples is None else int(n_samples)


def require_fits(cost: Cost) -> Cost:
    """Raise :class:`~exacthess.core.errors.ProblemTooLargeError` when ``cost.peak`` exceeds the budget.

    The message gives the estimate, the parameter count, the sample count and what dominates.
    Returns ``cost`` otherwise.
    """
    if cost.peak > memory_limit():
        size = f"{cost.n_params:,} parameters" + (f", n = {cost.n_samples} samples" if cost.n_samples else "")
        require_memory(cost.peak, f"{cost.what} ({size})",
                       f"mostly {cost.largest}; set EXACTHESS_MEMORY_LIMIT_GB to change the limit")
    return cost
