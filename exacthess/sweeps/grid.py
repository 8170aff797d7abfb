"""Sweep grids: a spec of fixed values and axes, expanded into jobs.

A *spec* is a ``[sweep]`` table (TOML) or a dict. Its keys are named like the options of
``exacthess verify fcn|cnn`` (``family``, ``input_dim`` / ``input_shape``, ``widths`` /
``channels``, ``kernel_sizes``, ``output_dim``, ``in_channels``, ``strides``, ``paddings``,
``bias``, ``samples``, ``seed``), plus ``certify``, ``float_check`` (the keywords of
:func:`exacthess.verify`), ``activation`` and ``loss``. **A list is a grid axis, anything else
is fixed**; the sweep is the Cartesian product of the axes. An option whose value is itself a
list is therefore fixed by a one-element axis: ``widths = [[5, 10]]`` is one network,
``widths = [[5], [5, 10]]`` two. ``[[sweep]]`` (an array of tables, or a list of dicts) is the
union of several grids; a job that two grids share runs once.

A job is a plain dict; its identity is its canonical JSON (sorted keys, no spaces). A job
without ``seed`` gets one derived from that identity (the first 31 bits of its SHA-256), so a
result never depends on which worker ran it or in which order.

>>> g = expand({"family": "fcn", "input_dim": [3, 4], "widths": [[2]], "output_dim": 1, "seed": 0})
>>> [j["input_dim"] for j in g.jobs], g.axes
([3, 4], {'input_dim': 2})
>>> job_key(g.jobs[0])
'{"family":"fcn","input_dim":3,"output_dim":1,"seed":0,"widths":[2]}'
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path

from ..core.errors import (ExactHessError, InvalidOptionError, InvalidTypeError, InvalidValueError,
                           ProblemTooLargeError, describe)
from ..core.resources import require_memory
from ..core.validate import check_bool, check_int, check_option, is_int
from ..models.activations import activation as parse_activation
from ..models.architectures import SPEC_KEYS
from ..models.losses import loss as parse_loss

__all__ = ["Grid", "load_spec", "expand", "count_jobs", "job_key", "derived_seed", "spec_hash", "known_keys",
           "RUN_KEYS", "REQUIRED_KEYS", "CONFIRM_LIMIT", "JOB_BYTES"]

#: a sweep of more jobs than this runs only when confirmed (``confirm=True``; ``--yes`` on the command line)
CONFIRM_LIMIT = 500
#: memory held per job of an expanded grid (the job, its key, its place in the queues), an upper estimate:
#: a confirmed grid is still refused when its jobs alone would not fit in memory
JOB_BYTES = 2048
#: a union of grids whose axes multiply to at most this many jobs is expanded to count its distinct jobs
_EXACT_COUNT = 100_000

#: keys that go to :func:`exacthess.verify` rather than to the architecture
RUN_KEYS = ("samples", "seed", "certify", "float_check", "loss")
#: keys without which a job cannot be built (``family`` is always required)
REQUIRED_KEYS = {"fcn": ("input_dim", "output_dim"), "cnn": ("input_shape", "channels", "kernel_sizes", "output_dim")}
_EXTRA_ARCH_KEYS = ("activation",)


def known_keys(family: str) -> tuple[str, ...]:
    """Every key a grid of this family accepts, sorted."""
    return tuple(sorted({"family", *SPEC_KEYS[family], *_EXTRA_ARCH_KEYS, *RUN_KEYS}))


def _ints(value, name: str, minimum: int, what: str) -> list:
    if not isinstance(value, (list, tuple)):
        raise InvalidTypeError(f"{name} = {describe(value)} has type {type(value).__name__}; expected {what}")
    return [check_int(v, f"{name}[{i}]", minimum) for i, v in enumerate(value)]


def _size_list(value, name: str) -> list:
    return _ints(value, name, 1, "a list of ints >= 1 such as [5, 10] (a list in a spec is an axis, "
                 f"so a fixed {name.split('[')[0]} is written [[5, 10]])")


def _shape(value, name: str):
    if is_int(value):
        return check_int(value, name, 1)
    vals = _ints(value, name, 1, "an int (1-D) or a list of 1 or 2 ints (a list in a spec is an axis, so a "
                 "fixed 2-D shape is written [[6, 6]])")
    if len(vals) not in (1, 2):
        raise InvalidValueError(f"{name} = {vals} has {len(vals)} entries; expected 1 (1-D) or 2 (2-D)")
    return vals


def _per_layer(minimum: int):
    def check(value, name):
        if is_int(value):
            return check_int(value, name, minimum)
        if not isinstance(value, (list, tuple)):
            raise InvalidTypeError(f"{name} = {describe(value)} has type {type(value).__name__}; expected an int "
                                   "(every layer) or a per-layer list of ints or pairs")
        return [check_int(v, f"{name}[{i}]", minimum) if is_int(v) else _ints(v, f"{name}[{i}]", minimum, "an int "
                "or a pair of ints") for i, v in enumerate(value)]
    return check


def _parsed_by(parse, what: str):
    """A check that keeps the spec's string and refuses, up front, what ``parse`` (the library's own
    parser of ``what``) refuses, the message naming the spec key (``sweep.activation[1] = 'tanh'
    is not known; expected one of ...``)."""
    def check(value, name):
        if not isinstance(value, str):
            raise InvalidTypeError(f"{name} = {describe(value)} has type {type(value).__name__}; expected a string")
        try:
            parse(value)
        except ExactHessError as exc:
            text = str(exc)
            text = f"{name} = " + text[len(what) + 3:] if text.startswith(f"{what} = ") else f"{name}: {text}"
            raise type(exc)(text) from None
        return value
    return check


_CHECKS = {
    "input_dim": lambda v, n: check_int(v, n, 1), "output_dim": lambda v, n: check_int(v, n, 1),
    "in_channels": lambda v, n: check_int(v, n, 1), "samples": lambda v, n: check_int(v, n, 1),
    "seed": lambda v, n: check_int(v, n, 0), "bias": check_bool, "float_check": check_bool,
    "certify": lambda v, n: check_option(v, n, ("auto", "always", "never")),
    "widths": _size_list, "channels": _size_list, "input_shape": _shape,
    "kernel_sizes": _per_layer(1), "strides": _per_layer(1), "paddings": _per_layer(0),
    "activation": _parsed_by(parse_activation, "activation"), "loss": _parsed_by(parse_loss, "loss"),
}


@dataclass
class Grid:
    """The expanded sweep.

    Attributes:
        grids: the normalised grid tables (fixed values and axes, in file order).
        jobs: every distinct job, in grid order (the Cartesian product, last axis fastest).
        axes: per key (other than ``seed``) taking more than one value, its number of distinct values.
        spec_hash: :func:`spec_hash` of ``grids``; records of this sweep carry it.
    """

    grids: list
    jobs: list
    axes: dict = field(default_factory=dict)
    spec_hash: str = ""

    def __len__(self) -> int:
        return len(self.jobs)

    def summary(self) -> str:
        """The jobs and the axes of each grid, in words (the header of ``exacthess sweep``).

        >>> expand({"family": "fcn", "input_dim": [3, 4], "output_dim": [1, 2], "seed": 0}).summary()
        '4 jobs (axes: input_dim (2), output_dim (2))'
        >>> t = {"family": "fcn", "input_dim": [3, 4], "output_dim": 1, "seed": 0}
        >>> expand([t, {**t, "output_dim": 2}]).summary()
        '4 jobs in 2 grids (each with axes: input_dim (2))'
        """
        def axes(g):
            return ", ".join(f"{k} ({len(v)})" for k, v in g.items() if isinstance(v, list) and len(v) > 1) or "none"
        per = [axes(g) for g in self.grids]
        if len(per) == 1:
            return f"{len(self)} jobs (axes: {per[0]})"
        what = f"each with axes: {per[0]}" if len(set(per)) == 1 else "axes: " + "; ".join(per)
        return f"{len(self)} jobs in {len(per)} grids ({what})"


def _normalise_grid(table, where: str) -> dict:
    if not isinstance(table, dict):
        raise InvalidTypeError(f"{where} = {describe(table)} has type {type(table).__name__}; expected a table of keys")
    if "family" not in table:
        raise InvalidValueError(f"{where} is missing key 'family'; expected family = "
                                f"{' or '.join(repr(f) for f in SPEC_KEYS)} (then the keys of that family)")
    family = check_option(table.get("family"), f"{where}.family", tuple(SPEC_KEYS))
    known = known_keys(family)
    unknown = [k for k in table if k not in known]
    if unknown:
        raise InvalidOptionError(f"{where} has unknown key {unknown[0]!r} for family {family!r}; known keys: "
                                 f"{', '.join(known)}")
    missing = [k for k in REQUIRED_KEYS[family] if k not in table]
    if missing:
        raise InvalidValueError(f"{where} is missing {', '.join(missing)}; a {family} grid needs "
                                f"{', '.join(REQUIRED_KEYS[family])}")
    out = {"family": family}
    for key, value in table.items():
        if key == "family":
            continue
        name = f"{where}.{key}"
        if isinstance(value, (list, tuple)):
            if not value:
                raise InvalidValueError(f"{name} = [] is an empty axis; list at least one value (a list is an axis, "
                                        "so a fixed list-valued option is written as a one-element axis, e.g. "
                                        "widths = [[5, 10]])")
            vals = [_CHECKS[key](v, f"{name}[{i}]") for i, v in enumerate(value)]
            seen = set()
            for v in vals:
                text = json.dumps(v)
                if text in seen:
                    raise InvalidValueError(f"{name} = {describe(list(value))} repeats the value {text}; an axis "
                                            "lists distinct values (a fixed list-valued option is written as a "
                                            "one-element axis, e.g. input_shape = [[6, 6]])")
                seen.add(text)
            out[key] = vals
        else:
            out[key] = {"fixed": _CHECKS[key](value, name)}
    return out


def job_key(job: dict) -> str:
    """The identity of a job: its canonical JSON (sorted keys, no spaces)."""
    return json.dumps(job, sort_keys=True, separators=(",", ":"))


def derived_seed(job: dict) -> int:
    """A seed in ``[0, 2^31)`` derived from the job's spec (without ``seed``): SHA-256, first 31 bits.

    >>> derived_seed({"family": "fcn", "input_dim": 3}) == derived_seed({"input_dim": 3, "family": "fcn"})
    True
    """
    digest = hashlib.sha256(job_key({k: v for k, v in job.items() if k != "seed"}).encode()).digest()
    return int.from_bytes(digest[:4], "big") >> 1


def spec_hash(grids: list) -> str:
    """16 hex digits of the SHA-256 of the normalised grids' canonical JSON."""
    return hashlib.sha256(job_key({"grids": grids}).encode()).hexdigest()[:16]


def _tables(spec, where: str) -> list:
    if isinstance(spec, dict) and "sweep" in spec:
        extra = [k for k in spec if k != "sweep"]
        if extra:
            raise InvalidOptionError(f"{where} has unknown top-level key {extra[0]!r}; expected only a [sweep] table "
                                     "or [[sweep]] tables")
        spec = spec["sweep"]
    elif isinstance(spec, dict) and "family" not in spec and spec and all(isinstance(v, dict) for v in spec.values()):
        raise InvalidValueError(f"{where} has no [sweep] table (it has {', '.join(f'[{k}]' for k in spec)}); expected "
                                "a [sweep] table or [[sweep]] tables")
    if isinstance(spec, dict):
        return [(spec, "sweep")]
    if isinstance(spec, (list, tuple)) and spec:
        return [(t, f"sweep[{i}]") for i, t in enumerate(spec)]
    raise InvalidTypeError(f"{where} = {describe(spec)} has type {type(spec).__name__}; expected a [sweep] table "
                           "(a dict) or a non-empty list of them")


def load_spec(spec) -> object:
    """The spec itself when it is a dict or list; the parsed TOML document when it is a path."""
    if isinstance(spec, (str, Path)):
        path = Path(spec)
        try:
            import tomllib
        except ModuleNotFoundError:  # Python 3.10
            import tomli as tomllib
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidValueError(f"spec = {str(path)!r} cannot be read ({exc.strerror or exc}); expected a TOML "
                                    "file with a [sweep] table") from None
        except UnicodeDecodeError:  # a binary file
            raise InvalidValueError(f"spec = {str(path)!r} is not a text file (not UTF-8); expected a TOML file "
                                    "with a [sweep] table") from None
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise InvalidValueError(f"spec = {str(path)!r} is not valid TOML: {exc}") from None
    return spec


def _choices(g: dict) -> tuple[list, list]:
    keys = list(g)[1:]
    return keys, [[v["fixed"]] if isinstance(v, dict) else v for v in (g[k] for k in keys)]


def _product(g: dict) -> int:
    n = 1
    for values in _choices(g)[1]:
        n *= len(values)
    return n


def _jobs(grids: list):
    """Every distinct job of the union of ``grids``, in grid order."""
    seen = set()
    for g in grids:
        keys, choices = _choices(g)
        for combo in itertools.product(*choices):
            job = {"family": g["family"], **dict(zip(keys, combo))}
            if "seed" not in job:
                job["seed"] = derived_seed(job)
            key = job_key(job)
            if key not in seen:
                seen.add(key)
                yield job


def count_jobs(spec) -> tuple[int, bool]:
    """The number of jobs of a spec, counted without expanding it: ``(count, exact)``.

    One grid has the product of its axis lengths (its values are distinct); a union of grids
    has at most the sum of the products (a job two grids share runs once), and the distinct jobs
    are counted exactly when that sum is small (``exact`` is False otherwise).

    >>> count_jobs({"family": "fcn", "input_dim": list(range(1, 1001)), "output_dim": list(range(1, 1001)),
    ...             "samples": list(range(1, 901))})
    (900000000, True)
    """
    where = str(spec) if isinstance(spec, (str, Path)) else "spec"
    return _count([_normalise_grid(t, w) for t, w in _tables(load_spec(spec), where)])


def _count(grids: list) -> tuple[int, bool]:
    total = sum(_product(g) for g in grids)
    if len(grids) == 1:
        return total, True
    if total <= _EXACT_COUNT:
        return sum(1 for _ in _jobs(grids)), True
    return total, False


def expand(spec, *, limit: int | None = None, confirm: bool = False, confirm_hint: str = "confirm=True") -> Grid:
    """Validate a spec (dict, list of dicts, or TOML path) and expand it into jobs.

    The jobs are counted before they are made (:func:`count_jobs`): with ``limit``, a grid of more
    jobs is refused unless ``confirm``; a confirmed grid is still refused when its jobs alone would
    not fit in memory (:data:`JOB_BYTES` each).

    Raises:
        ProblemTooLargeError: more than ``limit`` jobs without ``confirm`` (the message gives the
            count, the limit, the axes and ``confirm_hint``), or more jobs than fit in memory.
    """
    where = str(spec) if isinstance(spec, (str, Path)) else "spec"
    grids = [_normalise_grid(t, w) for t, w in _tables(load_spec(spec), where)]
    count, exact = _count(grids)
    if limit is not None and count > limit and not confirm:
        axes = " + ".join(" x ".join(f"{k} ({len(v)})" for k, v in g.items() if isinstance(v, list) and len(v) > 1)
                          or "1" for g in grids)
        raise ProblemTooLargeError(f"{where} has {'' if exact else 'up to '}{count:,} jobs ({axes}), more than "
                                   f"{limit:,}; pass {confirm_hint} to run them all, or shorten the axes")
    require_memory(count * JOB_BYTES, f"the {count:,} jobs of the sweep grid {where}",
                   "run it as several smaller sweeps")
    jobs, axes = list(_jobs(grids)), {}
    for key in dict.fromkeys(k for j in jobs for k in j if k != "seed"):
        distinct = {json.dumps(j.get(key), sort_keys=True) for j in jobs}
        if len(distinct) > 1:
            axes[key] = len(distinct)
    return Grid(grids, jobs, axes, spec_hash(grids))
