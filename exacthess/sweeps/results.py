"""The JSON Lines file of a sweep: one record per finished job, never a partial line.

Every record carries ``"sweep"``: the hash of the sweep's spec (:func:`~exacthess.sweeps.grid.spec_hash`),
so a file is never mixed with the results of another grid. A record is appended with one
``write`` of the whole line on a file opened in append mode, then ``fsync``: a finished result
survives a crash of the process or the machine right after it was reported. A crash *inside*
that write (a kill, a full disk) can leave a trailing line without its newline; opening the file
again drops it (the job is simply run again) and says so.

**A job recorded more than once: the newest record wins.** A job whose record says it timed out
runs again when the sweep is rerun without a budget or with a larger one (:func:`rerun`), and its
new record is appended below the old one; every reader (:class:`ResultFile`,
:func:`read_records`, so ``exacthess plot`` and the sweep's summary) keeps, for each job, its
*last* record, at the position of its first. Records with status ``ok`` or ``error`` are final:
the job is deterministic (its seed is part of its spec), so an error would recur; the exception is
an error saying the job process died (killed from outside, out of memory), which runs again like
a timeout.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "r.jsonl"
>>> with ResultFile(path, "abc") as f:
...     f.append({"job": {"seed": 0}, "status": "ok", "seconds": 0.5,
...               "report": {"ranks": {"H_L": 3}, "ok": True, "certified": True}})
>>> ResultFile(path, "abc").records[0]["job"]
{'seed': 0}
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..core.errors import InvalidValueError
from .grid import job_key

__all__ = ["ResultFile", "read_records", "json_lines", "newest", "rerun", "job_record", "DIED"]

#: the start of the error of a job whose process died (see :mod:`~exacthess.sweeps.jobs`)
DIED = "the job process died"


def job_record(job: dict, *, status: str, seconds: float, report: dict | None = None, error: str | None = None,
               budget: float | None = None) -> dict:
    """The record of one finished job, built from its fields by keyword (the sweep adds ``"sweep"``).

    ``status`` is ``"ok"`` (with the ``report``), ``"error"`` (with the ``error`` line,
    ``"ExceptionType: message"``) or ``"timeout"`` (with the ``budget`` it exceeded, in seconds);
    ``seconds`` is the job's wall time.

    >>> job_record({"seed": 0}, status="timeout", error="stopped", seconds=2.01, budget=2.0)
    {'job': {'seed': 0}, 'status': 'timeout', 'report': None, 'error': 'stopped', 'seconds': 2.01, 'budget': 2.0}
    """
    return {"job": job, "status": status, "report": report, "error": error, "seconds": seconds,
            **({} if budget is None else {"budget": budget})}


def newest(records) -> list:
    """One record per job (per sweep): the last one, at the position of the job's first record.

    >>> newest([{"job": {"a": 1}, "status": "timeout"}, {"job": {"a": 2}, "status": "ok"},
    ...         {"job": {"a": 1}, "status": "ok"}])
    [{'job': {'a': 1}, 'status': 'ok'}, {'job': {'a': 2}, 'status': 'ok'}]
    """
    latest: dict = {}
    for r in records:
        latest[(r.get("sweep"), job_key(r["job"]))] = r
    return list(latest.values())


def rerun(record: dict, budget_seconds: float | None) -> bool:
    """Whether a rerun of the sweep with ``budget_seconds`` (None: no limit) runs this job again:
    a timeout under a smaller budget (the record's ``budget``, else its ``seconds``), or a job
    whose process died.

    >>> t = {"status": "timeout", "budget": 2.0, "seconds": 2.01}
    >>> rerun(t, 2.0), rerun(t, 3.0), rerun(t, None), rerun({"status": "ok"}, None)
    (False, True, True, False)
    """
    status = record.get("status")
    if status == "timeout":
        spent = record.get("budget", record.get("seconds", 0.0))
        return budget_seconds is None or budget_seconds > float(spent)
    return status == "error" and str(record.get("error") or "").startswith(DIED)


def _valid(record: dict) -> bool:
    """A record's fields that resuming reads have their types (a record edited by hand may not)."""
    number = (int, float)
    report = record.get("report")
    return (isinstance(record["job"], dict) and record.get("status") in ("ok", "error", "timeout")
            and all(isinstance(record.get(k, 0.0), number) and not isinstance(record.get(k), bool)
                    for k in ("budget", "seconds"))
            and isinstance(record.get("error"), (str, type(None)))
            and (record["status"] != "ok" or (isinstance(report, dict) and isinstance(report.get("ranks"), dict)
                                              and all(isinstance(report.get(k), bool) for k in ("ok", "certified")))))


def read_records(path) -> list:
    """The records of a results file (of any sweep): the newest of each job (see the module doc); a
    trailing partial line is ignored."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidValueError(f"results = {str(path)!r} cannot be read ({exc.strerror or exc}); expected a JSON "
                                "Lines file written by exacthess sweep") from None
    end = data.rfind(b"\n") + 1
    return newest(record for _, record in json_lines(data[:end], f"results = {str(path)!r}", "a JSON Lines file "
                  "written by exacthess sweep") if isinstance(record, dict) and "job" in record)


def json_lines(data: bytes, name: str, expected: str):
    """``(line number, record)`` for every non-blank line of ``data`` (complete lines only).

    Raises:
        InvalidValueError: a line that is not JSON, naming ``name``, the line and what was ``expected``.
    """
    for number, line in enumerate(data.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):  # not JSON, not UTF-8 text (a binary file), nested too deep
            raise InvalidValueError(f"{name}: line {number} is not a JSON record; expected {expected}") from None
        yield number, record


class ResultFile:
    """An append-only results file bound to one sweep.

    Opening reads the existing records (checking that they belong to this sweep); a trailing
    partial line is cut off only when :meth:`open_for_append` is called.

    Attributes:
        path: the file.
        name: how errors name it (``"out"``; ``"--out"`` on the command line).
        records: the records already in the file, the newest of each job (see the module doc).
        done: their job keys (:func:`~exacthess.sweeps.grid.job_key`).
        superseded: the number of older records of a job recorded again.
        dropped: the number of bytes of a trailing partial line (0 when there is none).
    """

    def __init__(self, path, spec_hash: str, name: str = "out"):
        self.path = Path(path)
        self.name = name
        self.spec_hash = spec_hash
        self._latest: dict = {}
        self.done: set = set()
        self.superseded = 0
        self.dropped = 0
        self._good = self._size = 0
        self._fd = None
        if self.path.exists():
            self._read()

    def _read(self) -> None:
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            raise InvalidValueError(f"{self.name} = {str(self.path)!r} cannot be read ({exc.strerror or exc})") from None
        end = data.rfind(b"\n") + 1
        self._good, self.dropped, self._size = end, len(data) - end, len(data)
        for number, record in json_lines(data[:end], f"{self.name} = {str(self.path)!r}",
                                         "a results file written by exacthess sweep (nothing was changed)"):
            if not isinstance(record, dict) or "job" not in record or not _valid(record):
                raise InvalidValueError(f"{self.name} = {str(self.path)!r}: line {number} is not a sweep record (no "
                                        "'job', no 'status' ok/error/timeout with its seconds, or an ok "
                                        "record without its report); expected a results file written by exacthess sweep (nothing was changed)")
            if record.get("sweep") != self.spec_hash:
                raise InvalidValueError(
                    f"{self.name} = {str(self.path)!r} holds results of a different sweep (line {number}: spec "
                    f"{record.get('sweep')}, this spec {self.spec_hash}); write to another file or move this one "
                    "away (nothing was changed)")
            self._keep(record)

    def _keep(self, record: dict) -> None:
        key = job_key(record["job"])
        self.superseded += key in self._latest
        self._latest[key] = record
        self.done.add(key)

    @property
    def records(self) -> list:
        return list(self._latest.values())

    def open_for_append(self) -> None:
        """Open for appending (locked against a second sweep on the same file); a trailing partial
        line left by a crash is cut off first. Opening an open file does nothing.

        Raises:
            InvalidValueError: the file cannot be created or written (naming ``out``), or another
                running sweep is writing it.
        """
        if self._fd is not None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as exc:
            raise InvalidValueError(f"{self.name} = {str(self.path)!r} cannot be written ({exc.strerror or exc}); expected a "
                                    "file in a writable folder") from None
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: no advisory lock
            fcntl = None
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                raise InvalidValueError(f"{self.name} = {str(self.path)!r} is being written by another running sweep; wait "
                                        "for it or write to another file") from None
        if os.fstat(fd).st_size != self._size:  # written to since we read it: read again under the lock
            self._latest, self.done, self.superseded = {}, set(), 0
            try:
                self._read()
            except BaseException:
                os.close(fd)
                raise
        if self.dropped:
            os.ftruncate(fd, self._good)
        self._fd = fd

    def append(self, record: dict) -> None:
        """Write one record as one line (one ``write``, then ``fsync``)."""
        if self._fd is None:
            self.open_for_append()
        record = {**record, "sweep": self.spec_hash} if "sweep" in record else {"sweep": self.spec_hash, **record}
        data = (json.dumps(record, default=str) + "\n").encode()
        view = memoryview(data)
        while view:  # a regular file takes the whole line in one write; loop only on a short write
            view = view[os.write(self._fd, view):]
        os.fsync(self._fd)
        self._keep(record)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
