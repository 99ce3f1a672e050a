"""``log_batch`` in a helper process, so MLflow's SQL work never holds this process's GIL.

Writing a batch to the embedded SQLite store is pure-Python SQLAlchemy work:
about 0.5 ms per metric value (measured: 100 ms for a batch of 200). On the writer
thread that time is taken from the training thread, which needs the GIL between
its torch calls: with a 2 ms step, logging 4 values every 10 steps cost 0.2-0.4 ms
a step (``benchmarks/bench_loop_overhead.py``). In a helper process the same work
runs beside training instead of between its steps.

The helper (:func:`main`, started with the pipe's file descriptors and the store URI)
imports MLflow, opens the store and says ``("ready",)``; until then this process
writes the batches itself. It reads pickled requests from a pipe and answers each
with ``("ok",)`` or the error. Errors come back as what ``operations.classify_error`` sorts: an
``MlflowException`` with the same error code and message, or an ``OSError``
(transient) for anything else, the helper's death included — the writer then
retries and the next call starts a new helper. The helper ignores SIGINT and
SIGTERM (the run decides when tracking ends: a preempted job still flushes) and
exits when its pipe closes, i.e. when this process closes it or dies.
"""
from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import threading
from typing import Any, Iterable


class BatchProcessError(OSError):
    """The helper process failed or answered with a non-MLflow error (treated as transient)."""


class OutOfProcessBatches:
    """Wraps an ``MlflowClient``: ``log_batch`` runs in the helper, everything else here."""

    def __init__(self, client: Any, tracking_uri: str) -> None:
        self.client = client
        self.tracking_uri = tracking_uri
        self._lock = threading.Lock()
        self._process: subprocess.Popen | None = None
        self._requests = None
        self._replies = None
        self._ready: threading.Event | None = None  # set once the helper has imported MLflow

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def log_batch(self, run_id: str, metrics: Iterable = (), params: Iterable = (), tags: Iterable = ()) -> None:
        metrics, params, tags = list(metrics), list(params), list(tags)
        with self._lock:
            self._ensure_started()
            reply = self._call_helper((run_id,
                                       [(m.key, m.value, m.timestamp, m.step) for m in metrics],
                                       [(p.key, p.value) for p in params],
                                       [(t.key, t.value) for t in tags])) if self._ready.is_set() else None
        if reply is None:  # still importing MLflow (seconds): this process, which has it loaded, writes meanwhile
            self.client.log_batch(run_id, metrics=metrics, params=params, tags=tags)
        elif reply[0] != "ok":
            _raise_reply(reply)

    def _call_helper(self, request: tuple) -> tuple:
        """Send one request to the ready helper and return its reply (hold the lock)."""
        try:
            pickle.dump(request, self._requests, protocol=pickle.HIGHEST_PROTOCOL)
            self._requests.flush()
            return pickle.load(self._replies)  # blocks in read(): the GIL is free meanwhile
        except (OSError, EOFError, pickle.UnpicklingError) as exc:
            self._stop()
            raise BatchProcessError(f"tracking helper process failed: {type(exc).__name__}: {exc}") from None

    def start(self) -> None:
        """Start the helper now. It imports MLflow and opens the store first (seconds); until it says
        so, ``log_batch`` writes from this process, so no write (a checkpoint's, with its short
        store budget) waits for that, and a short run never does."""
        with self._lock:
            self._ensure_started()

    def wait_ready(self, timeout: float) -> bool:
        """Wait at most ``timeout`` s for a started helper to say it is ready (False: not yet, or
        none started). Writes never wait for this; tests and tools that need the helper do."""
        ready = self._ready
        return ready is not None and ready.wait(timeout)

    def close(self) -> None:
        """Let the helper exit (it finishes the call in progress first); one still starting is ended."""
        with self._lock:
            self._stop(wait=self._ready is not None and self._ready.is_set())

    def kill(self) -> None:
        """End the helper now, even mid-call (SQLite rolls the open transaction back).
        Does not wait for the lock: a writer thread may be blocked inside a call."""
        process = self._process
        if process is not None and process.poll() is None:
            process.kill()

    def _ensure_started(self) -> None:
        if self._process is not None and self._process.poll() is None:
            return
        self._stop()
        to_child_read, to_child_write = os.pipe()
        from_child_read, from_child_write = os.pipe()
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-c", "from mgx.core.tracking.batch_process import main; main()",
                 str(to_child_read), str(from_child_write), self.tracking_uri],
                pass_fds=(to_child_read, from_child_write), stdin=subprocess.DEVNULL, close_fds=True)
        finally:
            os.close(to_child_read)
            os.close(from_child_write)
        self._requests = os.fdopen(to_child_write, "wb")
        self._replies = os.fdopen(from_child_read, "rb")
        self._ready = threading.Event()
        threading.Thread(target=_await_ready, args=(self._replies, self._ready), name="mgx-tracking-helper-start",
                         daemon=True).start()

    def _stop(self, wait: bool = False) -> None:
        for stream in (self._requests, self._replies):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass
        self._requests = self._replies = None
        process, self._process = self._process, None
        if process is not None:
            if wait:
                try:
                    process.wait(timeout=30)
                    return
                except subprocess.TimeoutExpired:
                    pass
            if process.poll() is None:
                process.kill()
            process.wait()


def _await_ready(replies: Any, ready: threading.Event) -> None:
    """Read the helper's first message, ("ready",); a helper that dies first also ends the wait
    (the next call through it then fails, and is retried with a new helper)."""
    try:
        pickle.load(replies)
    except Exception:  # noqa: BLE001 - EOF, a closed pipe: the call after this reports it
        pass
    finally:
        ready.set()


def _raise_reply(reply: tuple) -> None:
    if reply[0] == "mlflow":
        from mlflow.exceptions import MlflowException
        from mlflow.protos.databricks_pb2 import ErrorCode

        _, code, message = reply
        try:
            code_value = ErrorCode.Value(code)
        except ValueError:
            code_value = ErrorCode.Value("INTERNAL_ERROR")
        raise MlflowException(message, error_code=code_value)
    _, type_name, message = reply
    raise BatchProcessError(f"{type_name}: {message}")


def _serve(read_fd: int, write_fd: int, tracking_uri: str) -> None:
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.exceptions import MlflowException

    client = MlflowClient(tracking_uri)
    try:  # open the store (engine, schema check: most of the start-up) before saying ready
        client.search_experiments(max_results=1)
    except Exception:  # noqa: BLE001 - the calls themselves report what is wrong with the store
        pass
    with os.fdopen(read_fd, "rb") as requests, os.fdopen(write_fd, "wb") as replies:
        pickle.dump(("ready",), replies, protocol=pickle.HIGHEST_PROTOCOL)
        replies.flush()
        while True:
            try:
                run_id, metrics, params, tags = pickle.load(requests)
            except EOFError:
                return
            try:
                client.log_batch(run_id, metrics=[Metric(k, v, ts, step) for k, v, ts, step in metrics],
                                 params=[Param(k, v) for k, v in params], tags=[RunTag(k, v) for k, v in tags])
                reply: tuple = ("ok",)
            except MlflowException as exc:
                reply = ("mlflow", exc.error_code, str(exc))
            except Exception as exc:  # noqa: BLE001 - every failure goes back to the writer
                reply = ("other", f"{type(exc).__module__}.{type(exc).__name__}", str(exc)[:2000])
            pickle.dump(reply, replies, protocol=pickle.HIGHEST_PROTOCOL)
            replies.flush()


def main() -> None:
    """The helper's entry point: ``python -c '...; main()' READ_FD WRITE_FD URI``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _serve(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3])
