"""Connect a sweep to an existing Dask distributed cluster (``pip install "exacthess[dask]"``).

:func:`connect` first asks the address for its identity with a hard time limit (a plain
connection attempt can wait forever on a port that accepts connections but does not speak
Dask's protocol, e.g. the dashboard's), then opens a ``distributed.Client``. The workers must
have the same exacthess installed: jobs are sent by reference to
:func:`exacthess.sweeps.jobs.run_job`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import socket
import time
from urllib.parse import urlsplit

from ..core.errors import ExactHessError, InvalidValueError
from ..core.validate import check_real

__all__ = ["DaskCluster", "connect"]


class DaskCluster:
    """A connected client, its ``concurrent.futures`` executor and the cluster's worker threads.

    Use as a context manager (closes the client) or call :meth:`close`.
    """

    def __init__(self, client, address: str):
        self.client, self.address = client, address
        self.executor = client.get_executor()
        self._threads, self._asked = 0, -1e9

    def capacity(self) -> int:
        """Worker threads in the cluster now (asked at most every 10 s; at least 1)."""
        if time.monotonic() - self._asked > 10:
            try:
                self._threads = sum(self.client.nthreads().values())
            except Exception:  # a lost scheduler: keep the last answer, the futures report the loss
                pass
            self._asked = time.monotonic()
        return max(1, self._threads)

    def close(self) -> None:
        try:
            self.client.close(timeout=5)
        except Exception:  # closing a client whose scheduler is gone: nothing left to release
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


async def _identity(address: str, timeout: float):
    from distributed.comm import connect as comm_connect
    comm = await comm_connect(address, timeout=timeout)
    try:
        await comm.write({"op": "identity", "reply": True})
        return await comm.read()
    finally:
        comm.abort()


def _unreachable(address: str, why: str) -> InvalidValueError:
    return InvalidValueError(f"scheduler = {address!r} cannot be reached as a Dask scheduler ({why}); expected the "
                             "address of a running scheduler, e.g. tcp://host:8786")


def _reachable(address: str, timeout: float) -> None:
    """For tcp addresses, a plain connection first: a refused or unroutable port fails at once."""
    try:
        parts = urlsplit(address)
        host, port = parts.hostname, parts.port
    except ValueError as exc:
        raise _unreachable(address, str(exc)) from None
    if parts.scheme != "tcp" or not host or port is None:
        return
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        raise _unreachable(address, exc.strerror or type(exc).__name__) from None


def connect(address: str, timeout: float = 5.0) -> DaskCluster:
    """Connect to the Dask scheduler at ``address`` (``tcp://host:8786``; ``host:8786`` means tcp).

    Raises:
        InvalidValueError: nothing answered as a Dask scheduler within ``timeout`` seconds.
        ExactHessError: Dask is not installed.
    """
    timeout = check_real(timeout, "timeout", 0, strict=True)
    if not isinstance(address, str) or not address.strip():
        raise InvalidValueError(f"scheduler = {address!r} is not an address; expected e.g. tcp://host:8786")
    address = address.strip()
    if "://" not in address:
        address = "tcp://" + address
    try:
        from distributed import Client
    except ImportError:
        raise ExactHessError("a Dask scheduler needs the dask extra: pip install \"exacthess[dask]\"") from None
    _reachable(address, timeout)
    try:
        with cf.ThreadPoolExecutor(1) as pool:  # a thread of its own: the caller may be inside an event loop
            ident = pool.submit(asyncio.run, asyncio.wait_for(_identity(address, timeout), timeout)).result()
    except (asyncio.TimeoutError, TimeoutError):
        ident = f"no answer within {timeout:g} s"
    except Exception as exc:  # refused, unknown host, malformed address, garbage on the wire
        ident = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if not (isinstance(ident, dict) and ident.get("type") == "Scheduler"):
        raise _unreachable(address, ident if isinstance(ident, str) else "it answered, but not as a Dask scheduler")
    try:
        client = Client(address, timeout=timeout, set_as_default=False)
    except Exception as exc:
        raise InvalidValueError(f"scheduler = {address!r}: connecting failed ({type(exc).__name__}: {exc})") from None
    return DaskCluster(client, address)
