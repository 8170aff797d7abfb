"""The studies: counterexample search, the source documents' claims, the Gauss-Newton gap and its
scaling, the float atlas, trends, figures, ``exacthess reproduce`` and the proof runner.

The product and the sweep infrastructure that lived here until 0.3.0 moved to
:mod:`exacthess.verification` and :mod:`exacthess.sweeps`; their old import paths
(``exacthess.experiments.verify``, ``...report``, ``...sweep``, ...) still work, with a
DeprecationWarning naming the new module, until 0.4.0.
"""

import importlib
import importlib.abc
import importlib.util
import sys
import warnings

#: modules that moved out in 0.3.0: old name (under exacthess.experiments) -> new module
MOVED = {
    "verify": "exacthess.verification.pipeline", "report": "exacthess.verification.report",
    "floats": "exacthess.verification.floats", "point_ranks": "exacthess.verification.point_ranks",
    "points": "exacthess.verification.points", "generic": "exacthess.verification.sampler",
    "check": "exacthess.verification.check", "grid": "exacthess.sweeps.grid", "jobs": "exacthess.sweeps.jobs",
    "results": "exacthess.sweeps.results", "cluster": "exacthess.sweeps.cluster",
    "sweep": "exacthess.sweeps.driver", "pool": "exacthess.sweeps.pool",
}


class _MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports of an old path give the new module itself, with a DeprecationWarning."""

    def find_spec(self, fullname, path=None, target=None):
        head, _, leaf = fullname.rpartition(".")
        if head == __name__ and leaf in MOVED:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        new = MOVED[spec.name.rpartition(".")[2]]
        warnings.warn(f"{spec.name} moved to {new} in 0.3.0; the old path is removed in 0.4.0",
                      DeprecationWarning, stacklevel=2)
        return importlib.import_module(new)

    def exec_module(self, module) -> None:
        pass


if not any(isinstance(f, _MovedModules) for f in sys.meta_path):
    sys.meta_path.append(_MovedModules())
