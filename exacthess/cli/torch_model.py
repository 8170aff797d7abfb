"""Command-line pieces for ``exacthess verify torch model.pt --input-shape 1,28,28 [--data data.npz]``.

:func:`configure` adds the arguments to an ``argparse`` (sub)parser; :func:`load` reads the saved
module and the data and returns ``(arch, params, data)`` for the verify pipeline. Every problem with
the files raises an :class:`~exacthess.core.errors.ExactHessError` (the command line prints one
``error: ...`` line and exits with code 2).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

from ..core.errors import InvalidDataError, InvalidValueError
from ..models.torch_check import require_torch
from .parser import HelpFormatter

__all__ = ["configure", "load", "parse_shape", "float_option"]

_DESCRIPTION = (
    """Verify the statements for a PyTorch model saved whole with torch.save(model): any module torch.fx
can trace into nn.Linear, nn.Conv1d/2d/3d (stride, zero or circular padding, dilation, groups),
nn.ReLU / nn.LeakyReLU after any layer, residual sums x + y, max / average pooling, flattening,
batch normalisation and dropout in eval mode, self-attention on (batch, T, d) inputs
(nn.MultiheadAttention, or matmul / softmax / a causal masked_fill written out; --input-shape T,d)
(see exacthess.from_torch; a chain with one shared
activation is read as an FCN or CNN, anything else as a graph). The module is put in eval mode,
and the report says so when it was saved in training mode. A module subclass must be importable
where exacthess runs (its class defined in a module on the Python path, not in the __main__ of the
script that saved it). Weights are converted exactly. SECURITY: the file is read with
torch.load(path, weights_only=False), which unpickles it and can run arbitrary code: only load
files you trust. Needs PyTorch: pip install 'exacthess[torch]'.""")


def configure(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the arguments of ``exacthess verify torch`` to *parser* (its description included)."""
    parser.description = _DESCRIPTION
    parser.formatter_class = HelpFormatter
    parser.add_argument("model", metavar="MODEL.pt",
                        help="a whole module saved with torch.save(model) (unpickled: trusted files only)")
    parser.add_argument("--input-shape", required=True, metavar="SHAPE",
                        help="one sample's shape as torch sees it: 784 (nn.Linear), 3,32 (nn.Conv1d or T,d tokens), "
                             "1,28,28 (nn.Conv2d) or 1,8,8,8 (nn.Conv3d)")
    parser.add_argument("--data", default=None, metavar="DATA.npz",
                        help="samples as an .npz with arrays X (n x prod(shape), or n x shape) and Y "
                             "(n x K targets, or n class indices); seeded data if omitted")
    parser.add_argument("--round-to", default=None, metavar="GRID",
                        help="read every float of the data and the weights as the nearest multiple of GRID "
                             "(e.g. 1/1000 for values recorded with three decimals, or 2**-20 written as "
                             "9.5367431640625e-07); default: floats are read exactly")
    return parser


def parse_shape(text: str, name: str = "--input-shape") -> tuple[int, ...]:
    """``"1,28,28"`` (or ``"1x28x28"``) -> ``(1, 28, 28)``.

    >>> parse_shape("1,28,28")
    (1, 28, 28)
    """
    parts = [p.strip() for p in str(text).replace("x", ",").split(",")]
    try:
        vals = tuple(int(p) for p in parts)
    except ValueError:
        vals = ()
    if not 1 <= len(vals) <= 4 or any(v < 1 for v in vals):
        raise InvalidValueError(f"{name} = {text!r} is not a shape; expected 1 to 4 comma-separated ints >= 1, "
                                "e.g. 784, 3,32, 1,28,28 or 1,8,8,8")
    return vals


def _file(path: str, what: str) -> Path:
    p = Path(path)
    if not p.exists():
        raise InvalidDataError(f"{what} {path!r} does not exist; expected a path to an existing file")
    if not p.is_file():
        raise InvalidDataError(f"{what} {path!r} is not a file; expected a path to a file")
    return p


def _one_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def _load_module(path: str):
    torch = require_torch()
    p = _file(path, "model file")
    try:
        obj = torch.load(p, weights_only=False, map_location="cpu")
    except Exception as exc:  # any unpickling problem: report it on one line
        hint = (" (a module subclass must be importable where exacthess runs: define its class in a module on the "
                "Python path, not in the __main__ of the script that saved it)" if isinstance(exc, AttributeError)
                and "Can't get attribute" in str(exc) else "")
        raise InvalidDataError(f"model file {path!r} could not be read by torch.load ({_one_line(exc)}); "
                               f"expected a module saved with torch.save(model){hint}") from None
    if isinstance(obj, dict):
        raise InvalidDataError(f"model file {path!r} holds a dict (a state_dict?); expected the whole module "
                               "saved with torch.save(model) (build the model, load_state_dict, then save it)")
    if not isinstance(obj, torch.nn.Module):
        raise InvalidDataError(f"model file {path!r} holds a {type(obj).__name__}; expected an nn.Module "
                               "saved with torch.save(model)")
    return obj


def _load_data(path: str, shape: tuple, K: int):
    p = _file(path, "data file")
    try:
        with np.load(p, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except Exception as exc:  # not an .npz, corrupt, or object arrays (pickles are refused)
        why = ("not an .npz of plain arrays: numpy would unpickle it as Python objects, which is refused"
               if "pickle" in str(exc) else _one_line(exc))
        raise InvalidDataError(f"data file {path!r} could not be read by numpy.load ({why}); "
                               "expected an .npz with arrays X and Y (numpy.savez('data.npz', X=X, Y=Y))") from None
    missing = [k for k in ("X", "Y") if k not in arrays]
    if missing:
        raise InvalidDataError(f"data file {path!r} has no array {' or '.join(missing)} (it has "
                               f"{', '.join(sorted(arrays)) or 'none'}); expected arrays X and Y")
    X, Y = arrays["X"], arrays["Y"]
    d = math.prod(shape)
    if X.ndim < 2 or (X.shape[1:] != (d,) and X.shape[1:] != shape):
        want = f"(n, {d})" + ("" if len(shape) == 1 else f" or (n, {', '.join(map(str, shape))})")
        raise InvalidDataError(f"data X in {path!r} has shape {X.shape}; expected {want} for --input-shape "
                               f"{','.join(map(str, shape))}")
    if Y.ndim == 0 or Y.shape[0] != X.shape[0]:
        raise InvalidDataError(f"data Y in {path!r} has shape {Y.shape}; expected {X.shape[0]} rows, one per "
                               "sample of X")
    if Y.ndim == 1 and K == 1:
        Y = Y.reshape(-1, 1)
    return X.reshape(X.shape[0], d), Y


def float_option(args: argparse.Namespace):
    """``verify``'s ``float_check`` from ``--no-float`` (False) and ``--float-always`` (``"always"``);
    True (up to the default size) when neither is given."""
    if getattr(args, "float_always", False):
        return "always"
    return not getattr(args, "no_float", False)


def load(args: argparse.Namespace):
    """``(arch, params, data)`` from the parsed arguments; ``data`` is ``(X, Y)`` with ``X``
    flattened channel-major, or None when ``--data`` is not given. The module itself, in eval
    mode, is left in ``args.module`` (and whether it was training in ``args.was_training``).

    The network is read from the module's shapes and the whole verification is sized
    (:func:`~exacthess.verification.pipeline.verify_estimate` with the samples, the loss and
    ``--no-float`` / ``--float-always``)
    before any weight is converted: a model too large is refused at once with the estimate.

    Raises:
        MissingDependencyError: PyTorch is not installed.
        InvalidDataError: a missing or unreadable file, or arrays of the wrong shape.
        InvalidValueError: a malformed ``--input-shape``.
        UnsupportedModuleError: the module cannot be expressed (see :func:`exacthess.from_torch`).
        ProblemTooLargeError: the verification would not fit (nothing was converted).
    """
    from ..hessian.cost import require_fits, sample_count
    from ..verification.pipeline import verify_estimate
    from ..models.torch_import import from_torch, torch_architecture
    from ..models.torch_trace import traced_root
    shape = parse_shape(args.input_shape)
    module = _load_module(args.model)
    args.was_training = any(m.training for m in module.modules())
    module.eval()  # what a verification means: the module as it predicts (the report says when it was training)
    # for commands that also run the module itself (exacthess compare): as read (a bare nn.MultiheadAttention
    # as attn(x, x, x)[0])
    args.module = traced_root(require_torch(), module)[0]
    arch = torch_architecture(module, shape)
    data = None if args.data is None else _load_data(args.data, shape, arch.output_dim)
    samples = getattr(args, "samples", None)
    require_fits(verify_estimate(arch, sample_count(arch, samples, data), loss=getattr(args, "loss", "mse"),
                                 float_check=float_option(args)))
    arch, params = from_torch(module, shape)
    return arch, params, data
