"""Discover and run the symbolic proofs of :mod:`exacthess.proofs`.

A *proof* is a module of the package ``exacthess.proofs`` (the folder ``proofs/`` of the
repository) that defines ``STATEMENT`` (one line), ``SIZES`` and ``THOROUGH_SIZES`` (the sizes
covered by default and with ``--thorough``) and zero-argument ``test_*`` functions; each test
function proves one statement (its docstring's first line), raises ``AssertionError`` when the
identity fails, and records the sizes it proved with
:func:`covered` (re-exported by ``exacthess.proofs.support``). The same functions are collected by pytest.

Modules are found by name in the installed package (:mod:`pkgutil` over its ``__path__``,
:func:`importlib.import_module`), never by file path; the runner tells a proof which sizes to
cover by calling :func:`set_thorough` (:func:`thorough_mode`), which the proof reads back with
:func:`thorough`.

The names ``all`` and ``generic`` are reserved for ``exacthess prove all`` and
``exacthess prove generic ...``; no proof module may take them.

>>> "dft_block_diagonal" in proof_names()
True
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import pkgutil
import time
import traceback
from dataclasses import dataclass, field
from types import ModuleType
from typing import Callable, Iterator

from ..core.errors import InvalidOptionError

__all__ = ["PROOF_PACKAGE", "RESERVED_NAMES", "ProofInfo", "TestOutcome", "ProofRun", "proof_names",
           "list_proofs", "get_proof", "collect_tests", "run_module", "run_proofs", "resolve_targets",
           "thorough", "set_thorough", "thorough_mode", "covered", "collecting"]

#: the package that holds the proof modules
PROOF_PACKAGE = "exacthess.proofs"
#: targets of ``exacthess prove`` that are not proof modules
RESERVED_NAMES = ("all", "generic")

_collectors: list[list[str]] = []
_thorough = [False]  # the size lists in force: set by the runner through set_thorough / thorough_mode


def thorough() -> bool:
    """True when the larger size lists are selected (``--thorough``; see :func:`set_thorough`)."""
    return _thorough[0]


def set_thorough(enabled: bool) -> bool:
    """Select the larger size lists (``enabled``) or the default ones; returns the previous choice.

    The runner calls this (through :func:`thorough_mode`) before it runs a proof's test
    functions; a proof module asks :func:`thorough` which list of sizes to prove.
    """
    previous, _thorough[0] = _thorough[0], bool(enabled)
    return previous


@contextlib.contextmanager
def thorough_mode(enabled: bool) -> Iterator[None]:
    """Select (or deselect) the thorough sizes for the duration of the block."""
    previous = set_thorough(enabled)
    try:
        yield
    finally:
        set_thorough(previous)


def covered(size: str) -> None:
    """Record that the current statement is proven for ``size`` (a short description)."""
    if _collectors:
        _collectors[-1].append(size)


@contextlib.contextmanager
def collecting() -> Iterator[list[str]]:
    """Collect the sizes recorded by :func:`covered` inside the block."""
    sizes: list[str] = []
    _collectors.append(sizes)
    try:
        yield sizes
    finally:
        _collectors.pop()


@dataclass(frozen=True)
class ProofInfo:
    """One proof module: its name, statement and the sizes it covers."""

    name: str
    statement: str
    sizes: str
    thorough_sizes: str
    module: str
    tests: tuple[str, ...]

    def to_dict(self) -> dict:
        return {"name": self.name, "statement": self.statement, "sizes": self.sizes,
                "thorough_sizes": self.thorough_sizes, "tests": list(self.tests)}


@dataclass
class TestOutcome:
    """The result of one test function: proven (``ok``) or not, and the sizes covered."""

    __test__ = False  # not a pytest test class

    proof: str
    test: str
    statement: str
    ok: bool
    covered: list[str] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None

    def to_dict(self) -> dict:
        return {"proof": self.proof, "test": self.test, "statement": self.statement, "ok": self.ok,
                "covered": list(self.covered), "seconds": round(self.seconds, 3), "error": self.error}


@dataclass
class ProofRun:
    """All test outcomes of one proof module."""

    name: str
    outcomes: list[TestOutcome]

    @property
    def ok(self) -> bool:
        return all(o.ok for o in self.outcomes) and bool(self.outcomes)

    @property
    def seconds(self) -> float:
        return sum(o.seconds for o in self.outcomes)

    def to_dict(self) -> dict:
        return {"name": self.name, "ok": self.ok, "seconds": round(self.seconds, 3),
                "outcomes": [o.to_dict() for o in self.outcomes]}


def _is_proof(module: ModuleType) -> bool:
    return isinstance(getattr(module, "STATEMENT", None), str)


def _load(name: str) -> tuple[ModuleType | None, str | None]:
    """Import a module of the proof package: ``(module, None)`` or ``(None, error text)``."""
    try:
        return importlib.import_module(f"{PROOF_PACKAGE}.{name}"), None
    except Exception as exc:  # reported as a failed proof, never hidden
        return None, f"{type(exc).__name__}: {exc}"


def proof_names() -> list[str]:
    """Names of the proof modules, sorted (modules without ``STATEMENT`` are helpers; a module
    that cannot be imported is listed, and reported as failed when run)."""
    package = importlib.import_module(PROOF_PACKAGE)
    names = []
    for info in pkgutil.iter_modules(package.__path__):
        if info.ispkg or info.name.startswith("_") or info.name == "conftest":
            continue
        module, error = _load(info.name)
        if error is not None or _is_proof(module):
            if info.name in RESERVED_NAMES:
                raise RuntimeError(f"proof module {info.name!r} takes a reserved name; "
                                   f"the names {', '.join(RESERVED_NAMES)} belong to `exacthess prove`")
            names.append(info.name)
    return sorted(names)


def collect_tests(module: ModuleType) -> list[Callable[[], object]]:
    """The zero-argument ``test_*`` functions defined in ``module``, in source order."""
    tests = []
    for name, obj in vars(module).items():
        if (name.startswith("test_") and inspect.isfunction(obj) and obj.__module__ == module.__name__
                and len(inspect.signature(obj).parameters) == 0):
            tests.append(obj)
    tests.sort(key=lambda f: f.__code__.co_firstlineno)
    return tests


def _first_line(text: str | None) -> str:
    for line in (text or "").strip().splitlines():
        if line.strip():
            return line.strip()
    return ""


def _info(name: str) -> ProofInfo:
    module, error = _load(name)
    if error is not None:
        return ProofInfo(name=name, statement=f"(cannot be imported: {error})", sizes="", thorough_sizes="",
                         module=f"{PROOF_PACKAGE}.{name}", tests=("import",))
    return ProofInfo(name=name, statement=module.STATEMENT.strip(), sizes=getattr(module, "SIZES", "").strip(),
                     thorough_sizes=getattr(module, "THOROUGH_SIZES", "").strip(), module=module.__name__,
                     tests=tuple(f.__name__ for f in collect_tests(module)))


def list_proofs() -> list[ProofInfo]:
    """Every proof module with its statement and sizes."""
    return [_info(n) for n in proof_names()]


def get_proof(name: str) -> ProofInfo:
    """The proof called ``name``; an unknown name raises ``InvalidOptionError`` listing the known ones."""
    names = proof_names()
    if not isinstance(name, str) or name not in names:
        raise InvalidOptionError(f"proof = {name!r} is not a known proof; expected one of "
                                 f"{', '.join(names)} (or 'all')")
    return _info(name)


def resolve_targets(target: str) -> list[str]:
    """``"all"`` -> every proof name; a proof name -> ``[name]``; anything else raises."""
    if target == "all":
        return proof_names()
    return [get_proof(target).name]


def run_module(module: ModuleType, *, name: str | None = None, thorough: bool = False,
               on_start: Callable[[str, str], None] | None = None,
               on_done: Callable[[TestOutcome], None] | None = None) -> ProofRun:
    """Run every test function of ``module`` and collect the outcomes.

    A test function that raises is recorded as not proven, with its error (the traceback's
    last line and, for anything but an ``AssertionError``, the traceback); nothing is
    suppressed: the run's ``ok`` is False.
    """
    name = name or module.__name__.rsplit(".", 1)[-1]
    outcomes = []
    with thorough_mode(thorough):
        for test in collect_tests(module):
            statement = _first_line(test.__doc__) or test.__name__
            if on_start is not None:
                on_start(name, test.__name__)
            t0 = time.perf_counter()
            with collecting() as sizes:
                try:
                    test()
                    ok, error = True, None
                except AssertionError as exc:
                    ok, error = False, f"AssertionError: {exc}"
                except Exception as exc:  # recorded as a failure, with its traceback
                    ok, error = False, f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"
            outcome = TestOutcome(name, test.__name__, statement, ok, list(sizes),
                                  time.perf_counter() - t0, error)
            outcomes.append(outcome)
            if on_done is not None:
                on_done(outcome)
    return ProofRun(name, outcomes)


def run_proofs(names: list[str], *, thorough: bool = False,
               on_start: Callable[[str, str], None] | None = None,
               on_done: Callable[[TestOutcome], None] | None = None) -> list[ProofRun]:
    """Run the named proofs (see :func:`resolve_targets`) in order."""
    runs = []
    for n in names:
        get_proof(n)
        module, error = _load(n)
        if error is not None:
            outcome = TestOutcome(n, "import", "the proof module can be imported", False, [], 0.0, error)
            if on_done is not None:
                on_done(outcome)
            runs.append(ProofRun(n, [outcome]))
            continue
        runs.append(run_module(module, name=n, thorough=thorough, on_start=on_start, on_done=on_done))
    return runs
