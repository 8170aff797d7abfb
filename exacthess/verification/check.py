"""``exacthess.check``: verify a saved report's certificates again, with the checker only.

A report written by ``exacthess verify ... --json`` (or :meth:`~exacthess.verification.report.Report.to_dict`)
carries the exact point and, per rank, the certificate that was checked when it was computed.
:func:`check` rebuilds the matrices from the point and runs
:func:`exacthess.certify.checker.check` on every certificate -- no pipeline, no structural
hints -- then compares what verified with what the report claims: a certified rank must be
exactly the verified value, an uncertified one must lie within bounds that verified. This is
what a reviewer runs on a number from a paper's supplement.

>>> import exacthess as eh
>>> result = eh.check(eh.verify(eh.FCN(3, (2,), 2), n_samples=4, float_check=False))
>>> result.ok, [c.key for c in result.checks][:3]
(True, ['H_o', 'H_f', 'H_L'])
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..certify.certificate import describe_upper, from_data
from ..certify.checker import check as check_certificate
from ..core.errors import InvalidDataError, InvalidTypeError, InvalidValueError, NonDifferentiableError, describe
from ..hessian.saved import problem_from_data
from ..hessian.graph_source import GraphSource
from ..hessian.source import ProblemSource

__all__ = ["check", "CheckResult", "CertificateCheck"]


@dataclass
class CertificateCheck:
    """One rank of a report, checked again.

    Attributes:
        key: the rank's name (``"H_L"``, ``"H_f[:,2]"``, ...).
        value: the rank the report states.
        certified: whether the report calls it certified.
        kind: what its certificate's upper bound is (a theorem, null vectors, Hadamard, ...).
        verified: the claim holds by what the checker verified.
        lower, upper: the bounds the checker verified.
        why: one line: what verified, or why not.
    """

    key: str
    value: int
    certified: bool
    kind: str
    verified: bool
    lower: int
    upper: int
    why: str

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class CheckResult:
    """The outcome of :func:`check`: one :class:`CertificateCheck` per rank."""

    checks: list = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Every rank's claim verified."""
        return all(c.verified for c in self.checks)

    @property
    def exit_code(self) -> int:
        """``exacthess check``'s exit code: 0 every claim verified, 1 some claim did not."""
        return 0 if self.ok else 1

    def to_dict(self) -> dict:
        return {"ok": self.ok, "exit_code": self.exit_code, "seconds": self.seconds,
                "checks": [c.to_dict() for c in self.checks]}


def _load(report) -> dict:
    from .report import Report
    if isinstance(report, Report):
        return report.to_dict()
    if isinstance(report, (str, Path)):
        try:
            text = Path(report).read_bytes()
        except OSError as exc:
            raise InvalidValueError(f"report = {str(report)!r} cannot be read ({exc.strerror or exc}); expected the "
                                    "path of a JSON file written by exacthess verify ... --json") from None
        try:
            return json.loads(text.decode("utf-8"))
        except (ValueError, RecursionError) as exc:  # not UTF-8, not JSON, nested too deep
            raise InvalidDataError(f"report = {str(report)!r} is not a JSON report ({type(exc).__name__}: "
                                   f"{' '.join(str(exc).split())[:80]}); expected the output of "
                                   "exacthess verify ... --json") from None
    if isinstance(report, dict):
        return report
    raise InvalidTypeError(f"report = {describe(report)} has type {type(report).__name__}; expected a Report, "
                           "its to_dict(), or the path of a JSON report")


def check(report) -> CheckResult:
    """Verify every certificate of a report against matrices recomputed from its exact point.

    Args:
        report: a :class:`~exacthess.verification.report.Report`, its ``to_dict()``, or the path of
            a JSON file written by ``exacthess verify ... --json``.

    Returns:
        a :class:`CheckResult` (``.ok``: every claim verified; ``.checks``: one line per rank).

    Raises:
        InvalidDataError: the report has no exact point or no certificates (e.g. it was made with a
            custom loss, whose functions cannot be saved), or they are malformed.
    """
    t0 = time.perf_counter()
    data = _load(report)
    if not isinstance(data, dict) or "rank_info" not in data:
        raise InvalidDataError("report has no rank_info; expected the output of exacthess verify ... --json")
    point, certs = data.get("point"), data.get("certificates")
    if not point or not isinstance(certs, dict):
        raise InvalidDataError("report has no exact point or no certificates (a custom loss or an architecture "
                               "without a spec cannot be saved, and reports older than exacthess 0.3 carry none); "
                               "expected a report written by exacthess verify ... --json")
    if not isinstance(data["rank_info"], dict):
        raise InvalidDataError(f"report's rank_info = {describe(data['rank_info'])} is not a mapping of ranks; "
                               "expected the output of exacthess verify ... --json")
    problem = problem_from_data(point)
    source = GraphSource(problem) if getattr(problem.arch, "family", None) == "graph" else ProblemSource(problem)
    out = CheckResult()
    shown = data.get("ranks") if isinstance(data.get("ranks"), dict) else {}
    for key, info in data["rank_info"].items():
        one = _one(key, info, certs.get(key), source)
        if key in shown and shown[key] != one.value:  # the rank the report shows must be the one it proves
            one = replace(one, verified=False, why=f"the report shows rank {shown[key]!r} but its rank_info says "
                                                   f"{one.value}; {one.why}")
        out.checks.append(one)
    out.seconds = time.perf_counter() - t0
    return out


def _one(key: str, info: dict, cert_data, source) -> CertificateCheck:
    try:
        value, lo, up, certified = int(info["value"]), int(info["lower"]), int(info["upper"]), bool(info["certified"])
    except (KeyError, TypeError, ValueError):
        raise InvalidDataError(f"rank_info[{key!r}] = {describe(info)} lacks value/lower/upper/certified; expected "
                               "what exacthess writes") from None
    if cert_data is None:
        return CertificateCheck(key, value, certified, "none", not certified and lo == 0, 0, 0,
                                "no certificate saved" + ("" if not certified else ": the claim cannot be checked"))
    try:
        cert = from_data(cert_data)
        res = check_certificate(cert, source)
    except NonDifferentiableError:  # the saved point itself is at a kink: bad input, not a bad certificate
        raise
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        return CertificateCheck(key, value, certified, "malformed", False, 0, 0,
                                f"the certificate is malformed ({type(exc).__name__}: {' '.join(str(exc).split())[:80]})")
    node = cert.equal.parts[0].upper if cert.equal is not None and cert.equal.parts else cert.upper
    kind = describe_upper(node) + (f"; {cert.equal.name}" if cert.equal is not None else "")
    if certified:
        ok = res.certified and res.lower == value
        why = (f"rank {value} verified: {res.upper_by}" if ok else
               f"claims rank {value}; verified {res.lower} <= rank <= {res.upper}")
    else:
        ok = lo <= value <= up and res.lower >= lo and res.upper <= up
        why = (f"{lo} <= rank <= {up} verified (not certified)" if ok else
               f"claims {lo} <= rank <= {up}, the certificate verifies {res.lower} <= rank <= {res.upper}")
    if res.failures:
        why += "; parts that did not verify: " + "; ".join(res.failures)
    return CertificateCheck(key, value, certified, kind, ok, res.lower, res.upper, why)
