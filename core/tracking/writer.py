"""Background threads that talk to the store so the training step never does.

``MetricWriter`` batches metrics/params/tags into ``log_batch`` calls;
``ArtifactUploader`` uploads files one at a time. Both retry transient failures a
bounded number of times, then write what they hold to the spool (and the run
goes on). While offline the writer tries the store again every
``offline_retry_s`` and, once it answers, replays the spool and logs directly again.
"""
from __future__ import annotations

import collections
import json
import logging
import queue
import threading
import time
from pathlib import Path

from mgx.core.tracking import operations as ops
from mgx.core.tracking.replay import replay_spool_dir
from mgx.core.tracking.spool import OFFLINE_PREFIX, SpoolWriter, load_id_map

log = logging.getLogger("mgx.tracking")



class RunState:
    """What both threads share: the run id in use and whether the store takes writes."""

    def __init__(self, run_id: str, tracking_uri: str, spool: SpoolWriter, offline: bool, retry_s: float,
                 retry_delays_s: tuple[float, ...] = (1.0, 2.0)):
        self.run_id = run_id
        self.retry_delays_s = retry_delays_s
        self.tracking_uri = tracking_uri
        self.spool = spool
        self.offline = offline
        self.offline_reason = "store unreachable at start" if offline else ""
        self.retry_s = retry_s
        self.last_probe = time.monotonic()
        self.problems: list[str] = []
        self.lock = threading.Lock()

    def report(self, message: str) -> None:
        """Record a problem for the end-of-run summary and log it now."""
        with self.lock:
            self.problems.append(message)
        log.warning(message)

    def go_offline(self, reason: str) -> None:
        with self.lock:
            was_online = not self.offline
            self.offline = True
            self.offline_reason = reason
            self.last_probe = time.monotonic()
        if was_online:
            self.report(
                f"tracking store {self.tracking_uri} failed ({reason}); run {self.run_id}: records now go to "
                f"{self.spool.dir} and are replayed when it answers again (or by `mgx sync`)"
            )

    def probe_due(self) -> bool:
        return self.offline and time.monotonic() - self.last_probe >= self.retry_s

    def request_probe(self) -> None:
        """Make the writer try the store at its next round instead of after ``retry_s``."""
        with self.lock:
            self.last_probe = float("-inf")


def _retrying(call, state: RunState, what: str, stop: threading.Event | None = None):
    """Run ``call`` with bounded retries on transient errors; re-raise the last error."""
    for attempt, delay in enumerate((*state.retry_delays_s, None)):
        try:
            return call()
        except Exception as exc:  # noqa: BLE001 - sorted below
            kind = ops.classify_error(exc)
            if kind != ops.TRANSIENT or delay is None:
                raise
            log.info("tracking: %s failed (%s), try %d; retrying in %.0f s", what, str(exc)[:200], attempt + 1, delay)
            if stop is not None and stop.wait(delay):
                raise
            if stop is None:
                time.sleep(delay)


class MetricWriter(threading.Thread):
    """Takes ("p", params), ("t", tags), ("flush", event), ("end", status|None, end_time, event)
    and ("stop",) from its queue, and metric values from ``put_metrics`` (which does not wake it)."""

    def __init__(self, client, state: RunState, flush_interval_s: float):
        super().__init__(name="mgx-tracking-writer", daemon=True)
        self.client = client
        self.state = state
        self.flush_interval_s = flush_interval_s
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self.metric_rows: collections.deque = collections.deque()  # (values, step, ts, monotonic time)
        self._lock = threading.Lock()  # guards the pending/in-flight lists against abandon()
        self.pending_metrics: list[tuple] = []
        self.pending_params: dict[str, str] = {}
        self.pending_tags: dict[str, str] = {}
        self.inflight: list[dict] = []
        self._inflight_diverted = False  # the training thread spooled the in-flight records (see divert)
        self.call_started: float | None = None  # monotonic time the current store call began, None when idle
        self._oldest_pending = 0.0
        self.calls = 0  # log_batch calls made (the benchmark reports it)
        self._bad_values: set[str] = set()

    # -- loop ---------------------------------------------------------------------------------
    def run(self) -> None:
        while True:
            try:
                item = self.queue.get(timeout=self._wait_s())
            except queue.Empty:
                item = None
            events, end, stop = [], None, False
            while item is not None:
                if not self._absorb_record(item):
                    kind = item[0]
                    if kind == "flush":
                        events.append(item[1])
                    elif kind == "end":
                        end = item
                    elif kind == "stop":
                        stop = True
                if len(self.pending_metrics) >= ops.MAX_METRICS_PER_CALL * 5 or events or end or stop:
                    break  # write now; more items stay queued for the next round
                try:
                    item = self.queue.get_nowait()
                except queue.Empty:
                    item = None
            # after the control items: metric values logged before a flush/end was queued are in by now
            self._absorb_metric_rows()
            has_pending = self.pending_metrics or self.pending_params or self.pending_tags
            try:
                if has_pending and (events or end or stop or len(self.pending_metrics) >= ops.MAX_METRICS_PER_CALL
                                    or time.monotonic() - self._oldest_pending >= self.flush_interval_s):
                    self._write_pending()
                if self.state.probe_due():
                    self._store_call(self._try_reconnect)
                if end is not None:
                    self._store_call(lambda: self._end(end[1], end[2]))
            except Exception as exc:  # noqa: BLE001 - e.g. disk full while spooling: report, keep the thread alive
                self.state.report(f"tracking writer error: {type(exc).__name__}: {str(exc)[:300]}")
            if end is not None:
                end[3].set()
            for event in events:
                event.set()
            if stop:
                self.state.spool.close()  # unlock: `mgx sync` may take the file now
                return

    def _wait_s(self) -> float:
        if self.pending_metrics or self.pending_params or self.pending_tags:
            return max(0.0, self._oldest_pending + self.flush_interval_s - time.monotonic())
        if self.state.offline:
            return max(0.05, min(self.flush_interval_s, self.state.last_probe + self.state.retry_s - time.monotonic()))
        return self.flush_interval_s  # metric rows arrive without waking this thread

    def put_metrics(self, values: dict, step: int, timestamp: int) -> None:
        """Hand over metric values without waking the writer: woken at every log line, it took
        the GIL from the training step each time (a per-cent of a small model's step, measured
        with ``benchmarks/bench_loop_overhead.py``). It takes them within ``flush_interval_s``,
        and at once before a flush, the run's end or a divert."""
        self.metric_rows.append((values, step, timestamp, time.monotonic()))

    def _absorb_metric_rows(self) -> None:
        while True:
            try:
                values, step, timestamp, logged_at = self.metric_rows.popleft()
            except IndexError:
                return
            self._absorb_metrics(values, step, timestamp, logged_at)

    def _absorb_metrics(self, values: dict, step: int, timestamp: int, logged_at: float) -> None:
        rows = []
        for key, value in values.items():
            try:
                rows.append((str(key), float(value), timestamp, int(step)))
            except (TypeError, ValueError):
                if key not in self._bad_values:
                    self._bad_values.add(key)
                    self.state.report(f"metric {key!r}: value {value!r} is not a number; not logged")
        with self._lock:
            if not (self.pending_metrics or self.pending_params or self.pending_tags):
                self._oldest_pending = logged_at
            self.pending_metrics.extend(rows)

    # -- writing ------------------------------------------------------------------------------
    def _take_pending(self) -> list[dict]:
        """Move pending entities into in-flight spool-shaped records (still visible to abandon())."""
        with self._lock:
            records = self._pop_pending_records()
            self.inflight = records
            return records

    def _pop_pending_records(self) -> list[dict]:
        """The pending params, tags and metrics as spool-shaped records, pending emptied (hold the lock)."""
        run = self.state.run_id
        records = []
        if self.pending_params:
            records.append({"op": "params", "run": run, "p": self.pending_params})
        if self.pending_tags:
            records.append({"op": "tags", "run": run, "t": self.pending_tags})
        if self.pending_metrics:
            records.append({"op": "metrics", "run": run, "m": self.pending_metrics})
        self.pending_metrics, self.pending_params, self.pending_tags = [], {}, {}
        return records

    def _store_call(self, call):
        """Run ``call`` (which talks to the store) with ``call_started`` set, so others can tell a hung store."""
        self.call_started = time.monotonic()
        try:
            return call()
        finally:
            self.call_started = None

    def busy_for(self) -> float:
        """Seconds the current store call has been running (0 when idle)."""
        started = self.call_started
        return 0.0 if started is None else time.monotonic() - started

    def _write_pending(self) -> None:
        records = self._take_pending()
        try:
            if not self.state.offline:
                try:
                    self._store_call(lambda: self._send(records))
                    if self._inflight_diverted:
                        # the store was slow, not gone: go back online now (the replay writes only
                        # what the store lacks), not at the next periodic probe
                        self.state.request_probe()
                    return
                except Exception as exc:  # noqa: BLE001 - every failure ends in the spool
                    kind = ops.classify_error(exc)
                    self.state.go_offline(f"{'run not writable' if kind == ops.INACTIVE else 'error'}: "
                                          f"{str(exc)[:300]}")
            with self._lock:
                if not self._inflight_diverted:  # else divert() spooled them already
                    self.state.spool.append(records)
        finally:
            with self._lock:
                self.inflight = []
                self._inflight_diverted = False

    def _absorb_queued(self) -> list[tuple]:
        """Move every handed-over metric value and queued param and tag into the pending batches (from the calling
        thread); returns the queued control items (flush/end/stop), in their order."""
        self._absorb_metric_rows()
        controls = []
        while True:
            try:
                item = self.queue.get_nowait()
            except queue.Empty:
                return controls
            if not self._absorb_record(item):
                controls.append(item)

    def _absorb_record(self, item: tuple) -> bool:
        """A queued ("p", params) or ("t", tags) into the pending batches; False for a control item."""
        kind = item[0]
        if kind not in ("p", "t"):
            return False
        with self._lock:
            (self.pending_params if kind == "p" else self.pending_tags).update(item[1])
        return True

    def divert(self, reason: str) -> int:
        """Called by the training thread when the store does not answer in time: go offline and
        spool, from this thread, everything queued, pending and in flight, so that it is safe on
        disk now whatever the hung call does. Returns the number of records spooled.

        If the hung call succeeds later, its values are in the store and in the spool; the
        replay writes only values the store lacks, so none arrives twice."""
        self.state.go_offline(reason)
        controls = self._absorb_queued()
        with self._lock:
            records = []
            if self.inflight and not self._inflight_diverted:
                records.extend(self.inflight)
                self._inflight_diverted = True
            records.extend(self._pop_pending_records())
            self.state.spool.append(records)
        for item in controls:  # flush/end/stop stay for the writer, in their order
            self.queue.put(item)
        return len(records)

    def _send(self, records: list[dict]) -> None:
        by_op = {r["op"]: r for r in records}
        run_id = self.state.run_id
        calls = ops.batch_calls(by_op.get("metrics", {}).get("m", ()), by_op.get("params", {}).get("p"),
                                by_op.get("tags", {}).get("t"))
        for index, (metrics, params, tags) in enumerate(calls):
            try:
                _retrying(lambda: self.client.log_batch(run_id, metrics=metrics, params=params, tags=tags),
                          self.state, "log_batch")
                self.calls += 1
            except Exception as exc:  # noqa: BLE001
                if ops.classify_error(exc) != ops.INVALID:
                    raise
                self._isolate_invalid(run_id, metrics, params, tags, exc)

    def _isolate_invalid(self, run_id: str, metrics, params, tags, exc: Exception) -> None:
        """The store refused a batch: log entity by entity, report and set aside those it refuses."""
        from mlflow.entities import Metric, Param

        rejected = []
        for entity in [*metrics, *params, *tags]:
            kwargs = {"metrics": [entity]} if isinstance(entity, Metric) else (
                {"params": [entity]} if isinstance(entity, Param) else {"tags": [entity]})
            try:
                self.client.log_batch(run_id, **kwargs)
            except Exception as single_exc:  # noqa: BLE001
                if ops.classify_error(single_exc) != ops.INVALID:
                    raise
                rejected.append((entity, str(single_exc)))
        for entity, why in rejected:
            kind = type(entity).__name__.lower()
            value = getattr(entity, "value", None)
            self.state.report(f"store refused {kind} {entity.key!r}={str(value)[:100]!r}: {why[:300]}")
        if rejected:
            path = self.state.spool.dir / "rejected.log"
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "a", encoding="utf-8") as fh:
                for entity, why in rejected:
                    fh.write(json.dumps({"run": run_id, "kind": type(entity).__name__, "key": entity.key,
                                         "value": str(getattr(entity, "value", "")), "error": why[:1000]}) + "\n")

    def _end(self, status: str | None, end_time: int) -> None:
        if status is None:
            return
        record = {"op": "terminate", "run": self.state.run_id, "status": status, "end_time": end_time}
        if not self.state.offline:
            try:
                _retrying(lambda: self.client.set_terminated(self.state.run_id, status=status, end_time=end_time),
                          self.state, "set_terminated")
                return
            except Exception as exc:  # noqa: BLE001
                self.state.go_offline(f"set_terminated failed: {str(exc)[:300]}")
        self.state.spool.append([record])

    def _try_reconnect(self) -> None:
        """Offline: if the store answers (and the run is writable), replay the spool and go online."""
        state = self.state
        state.last_probe = time.monotonic()
        try:
            if state.run_id.startswith(OFFLINE_PREFIX):
                self.client.search_experiments(max_results=1)
            elif self.client.get_run(state.run_id).info.lifecycle_stage != "active":
                return
        except Exception:  # noqa: BLE001 - still down
            return
        state.spool.close()  # release our file so the replay can take it
        try:
            report = replay_spool_dir(state.spool.dir)
        except Exception as exc:  # noqa: BLE001
            log.info("tracking: replay after reconnect failed: %s", exc)
            return
        if report.files_failed:
            log.info("tracking: replay after reconnect incomplete:\n%s", report.summary())
            return
        with state.lock:
            state.run_id = load_id_map(state.spool.dir).get(state.run_id, state.run_id)
            state.offline = False
        log.warning("tracking store %s answers again; spool replayed (%s)", state.tracking_uri, report.summary())

    # -- shutdown -----------------------------------------------------------------------------
    def abandon(self) -> list[dict]:
        """Everything not yet confirmed written: in-flight + pending + still queued."""
        records = []
        self._absorb_queued()
        with self._lock:
            records.extend(self.inflight)
        records.extend(self._take_pending())
        self.queue.put(("stop",))  # the control items were drained too: exit after the hung call returns
        return records


class ArtifactUploader(threading.Thread):
    """Uploads queued files in order; a newer item with the same ``slot`` replaces a queued older one."""

    def __init__(self, client, state: RunState):
        super().__init__(name="mgx-tracking-uploader", daemon=True)
        self.client = client
        self.state = state
        self._items: collections.deque = collections.deque()
        self._cond = threading.Condition()
        self._current: dict | None = None
        self._closing = False
        self._stop_waiting = threading.Event()
        self.uploaded = 0

    def put(self, record: dict, slot: str | None = None) -> None:
        with self._cond:
            if slot is not None:
                self._items = collections.deque(i for i in self._items if i.get("_slot") != slot)
                record["_slot"] = slot
            self._items.append(record)
            self._cond.notify()

    def run(self) -> None:
        while True:
            with self._cond:
                while not self._items and not self._closing:
                    self._cond.wait()
                if not self._items:
                    return
                self._current = self._items.popleft()
            try:
                self._upload(self._current)
            except Exception as exc:  # noqa: BLE001 - keep the uploader alive; the problem is reported
                self.state.report(f"tracking uploader error: {type(exc).__name__}: {str(exc)[:300]}")
            finally:
                with self._cond:
                    self._current = None
                    self._cond.notify_all()

    def _upload(self, record: dict) -> None:
        record = {k: v for k, v in record.items() if not k.startswith("_")}
        record["run"] = self.state.run_id
        path = Path(record["path"])
        if not path.exists():
            self.state.report(f"artifact {path} does not exist; not uploaded")
            return
        if not self.state.offline:
            try:
                _retrying(lambda: self._call(record), self.state, f"upload of {path.name}", self._stop_waiting)
                self.uploaded += 1
                return
            except Exception as exc:  # noqa: BLE001 - reported, spooled, training goes on
                self.state.report(f"upload of {path} failed ({str(exc)[:300]}); kept in the spool for `mgx sync`")
        self.spool_records([record])

    def _call(self, record: dict) -> None:
        if record["op"] == "image":
            ops.upload_image(self.client, record["run"], Path(record["path"]), record["key"], record["step"],
                             record["timestamp"], record["uuid"])
        else:
            ops.upload_artifact(self.client, record["run"], Path(record["path"]), record.get("artifact_path"))

    def spool_records(self, records: list[dict]) -> None:
        """Spool upload records, preserving their files so the originals may change or go."""
        kept = []
        for record in records:
            record = {k: v for k, v in record.items() if not k.startswith("_")}
            record.setdefault("run", self.state.run_id)
            if Path(record["path"]).is_file():
                record["path"] = str(self.state.spool.preserve(Path(record["path"])))
            kept.append(record)
        self.state.spool.append(kept)

    def drain(self, timeout: float) -> bool:
        """Wait until the queue is empty and nothing uploads; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._items or self._current is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def close(self) -> None:
        with self._cond:
            self._closing = True
            self._cond.notify_all()

    def abandon(self) -> list[dict]:
        """Stop retrying; return everything not yet uploaded (the current upload included)."""
        self._stop_waiting.set()
        with self._cond:
            items = list(self._items)
            self._items.clear()
            if self._current is not None:
                items.insert(0, self._current)
        return items
