"""The package's structure: no import cycles, no private names across modules, modules of one
concept under 400 lines, and the subpackages of docs/architecture.md (independent route: the
source files read with :mod:`ast`, not the package's own imports)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "exacthess"
MAX_LINES = 400


def _modules():
    out = {}
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT.parent).with_suffix("")
        parts = list(rel.parts)
        is_pkg = parts[-1] == "__init__"
        if is_pkg:
            parts = parts[:-1]
        out[".".join(parts)] = (path, is_pkg)
    return out


MODULES = _modules()


def _resolve(mod: str, is_pkg: bool, level: int, name: str | None) -> str:
    base = mod.split(".") if is_pkg else mod.split(".")[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join(base + ([name] if name else []))


def _imports(mod: str):
    """``(target module, imported names, lineno)`` for every import inside the package, at any depth."""
    path, is_pkg = MODULES[mod]
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            target = _resolve(mod, is_pkg, node.level, node.module) if node.level else (node.module or "")
            if not target.startswith("exacthess"):
                continue
            names = [a.name for a in node.names]
            for n in names:  # "from . import x" imports the module x
                if f"{target}.{n}" in MODULES:
                    yield f"{target}.{n}", [], node.lineno
            yield target, names, node.lineno
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("exacthess"):
                    yield a.name, [], node.lineno


def _graph():
    g = {m: set() for m in MODULES}
    for m in MODULES:
        for target, _, _ in _imports(m):
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != m and not m.startswith(target + "."):  # a package's own __init__ is not a cycle
                g[m].add(target)
    return g


def test_no_import_cycles():
    """Depth-first search for a back edge in the module import graph (lazy imports included)."""
    g = _graph()
    state, stack = {}, []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for t in sorted(g[m]):
            if state.get(t) == 1:
                cycle = stack[stack.index(t):] + [t]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if t not in state:
                visit(t)
        stack.pop()
        state[m] = 2
    for m in sorted(g):
        if m not in state:
            visit(m)


def test_no_private_names_across_modules():
    bad = []
    for m in MODULES:
        for target, names, line in _imports(m):
            for n in names:
                if n.startswith("_") and not n.startswith("__") and target != m:
                    bad.append(f"{MODULES[m][0].relative_to(ROOT.parent)}:{line} imports {target}.{n}")
    assert not bad, "private names imported across modules:\n" + "\n".join(bad)


def test_modules_are_short():
    long = [f"{p.relative_to(ROOT.parent)} ({n} lines)" for p, _ in MODULES.values()
            if (n := len(p.read_text().splitlines())) > MAX_LINES]
    assert not long, f"modules over {MAX_LINES} lines: " + ", ".join(long)


def test_subpackages_of_the_architecture():
    for pkg in ("core", "models", "hessian", "certify", "statements", "spectral", "verification", "sweeps",
                "experiments", "cli"):
        assert f"exacthess.{pkg}" in MODULES, pkg


def test_certify_knows_no_network():
    """certify/ sees matrices and hints only: it imports nothing from models/, hessian/ or statements/."""
    for m in MODULES:
        if m.startswith("exacthess.certify"):
            for target, _, line in _imports(m):
                assert not target.startswith(("exacthess.models", "exacthess.hessian", "exacthess.statements",
                                              "exacthess.experiments", "exacthess.verification",
                                              "exacthess.sweeps")), f"{m}:{line} imports {target}"


#: what each subpackage may import (docs/architecture.md, "may import"); imports run downwards only
MAY_IMPORT = {
    "core": set(),
    "models": {"core"},
    "certify": {"core"},
    "statements": {"core", "models"},
    "hessian": {"core", "models", "certify"},
    "spectral": {"core", "models"},
    "generic": {"core", "models", "hessian", "certify", "statements"},
    "verification": {"core", "models", "hessian", "certify", "statements", "generic"},
    "oracle": {"core", "models", "hessian", "certify", "statements", "verification"},
    "sweeps": {"core", "models", "verification"},
    "experiments": {"core", "models", "hessian", "certify", "statements", "spectral", "generic", "verification",
                    "sweeps", "strategies", "oracle"},
    "cli": {"core", "models", "hessian", "certify", "statements", "spectral", "generic", "verification", "sweeps",
            "experiments", "strategies", "oracle"},
}


#: the documented exceptions: ``print(report)`` / ``Report.render()`` hand the report to the
#: command line's renderer (a lazy import inside those two methods), and ``progress="auto"`` (or
#: True) opens the command line's progress display (a lazy import, only when a display is shown)
UPWARD_ALLOWED = {("exacthess.verification.report", "exacthess.cli.render"),
                  ("exacthess.core.progress", "exacthess.cli.progress")}


def test_subpackages_import_downwards_only():
    """No subpackage imports one above it (lazy imports inside functions included)."""
    bad = []
    for m in MODULES:
        parts = m.split(".")
        if len(parts) < 2 or parts[1] not in MAY_IMPORT:
            continue
        for target, _, line in _imports(m):
            tparts = target.split(".")
            if len(tparts) < 2 or tparts[1] == parts[1]:
                continue
            if tparts[1] not in MAY_IMPORT[parts[1]] | {"__init__", "__version__"} and (m, target) not in UPWARD_ALLOWED:
                bad.append(f"{m}:{line} imports {target}")
    assert not bad, "imports against docs/architecture.md:\n" + "\n".join(bad)
