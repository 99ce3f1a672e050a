"""``Tracker``: one MLflow run of an mgx job, written from background threads.

Rank 0 only. The training thread only hands records over (``log_metrics`` costs a dict
copy and an append that does not wake the writer); a writer thread batches into
``log_batch``, an uploader thread
sends files. If the store fails, records go to ``<work_dir>/mlflow_spool/`` and
the run goes on; they are replayed when the store answers, at the next
``Tracker.start`` in the work dir, or by ``mgx sync``.
"""
from __future__ import annotations

import atexit
import gc
import logging
import shutil
import tempfile
import threading
import time
import uuid
import weakref
from pathlib import Path
from typing import Callable, Mapping

from mgx.core.errors import ConfigError
from mgx.core.tracking import operations as ops
from mgx.core.tracking.batch_process import OutOfProcessBatches
from mgx.core.tracking.replay import replay_spool_dir
from mgx.core.tracking.run_info import clean_params, clean_tags, default_run_name, default_tags, pip_freeze_text
from mgx.core.tracking.server import health_failure
from mgx.core.tracking.settings import TrackingSettings, configure_http_env
from mgx.core.tracking.spool import (OFFLINE_PREFIX, SpoolWriter, load_id_map, new_offline_id, pending_files,
                                     pending_record_count)
from mgx.core.tracking.store import get_or_create_experiment, prepare_store
from mgx.core.tracking.system_metrics import SystemMetricsSampler
from mgx.core.tracking.writer import ArtifactUploader, MetricWriter, RunState

log = logging.getLogger("mgx.tracking")
END_STATUSES = ("FINISHED", "FAILED", "KILLED")
PREVIOUS_RUN_TAG = "mgx.previous_run_id"
RESUME_POINTS_TAG = "mgx.resume_points"


def _replay_earlier_sessions(spool: SpoolWriter) -> None:
    """Send what earlier sessions in this work dir spooled while the store was unreachable."""
    if not pending_files(spool.dir):
        return
    try:
        report = replay_spool_dir(spool.dir)
        log.warning("tracking: replayed the spool of an earlier session: %s", report.summary())
    except Exception as exc:  # noqa: BLE001 - the spool stays for later
        log.warning("tracking: could not replay %s yet: %s", spool.dir, exc)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class Tracker:
    """An open MLflow run. Create with :meth:`Tracker.start`; end with :meth:`finish`."""

    def __init__(self, settings: TrackingSettings, work_dir: Path):
        self.settings = settings
        self.work_dir = Path(work_dir)
        self.tracking_uri: str | None = None
        self.experiment_id: str | None = None
        self.client = None
        self._state: RunState | None = None
        self._writer: MetricWriter | None = None
        self._uploader: ArtifactUploader | None = None
        self._sampler: SystemMetricsSampler | None = None
        self._tmp: Path | None = None
        self._closed = False
        self._put = None
        self._put_metrics = None
        self._batch_client: OutOfProcessBatches | None = None
        self.run_name: str | None = settings.run_name

    # -- opening ------------------------------------------------------------------------------
    @classmethod
    def start(
        cls,
        settings: TrackingSettings,
        work_dir: Path,
        run_id_to_resume: str | None = None,
        config_flat: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
        *,  # tags=None -> default_tags(config_file=config_file)
        resume_step: int | None = None,
        config_file: Path | None = None,
        resolved_config_text: str | None = None,
        log_environment: bool = True,
        mode: str | None = None,
        on_run_opened: Callable[[str], None] | None = None,
    ) -> "Tracker":
        """Open (or reopen) the run of this job and start the background threads.

        Spooled records of earlier sessions in ``work_dir`` are replayed first. With
        ``run_id_to_resume`` the same run continues (status back to RUNNING, tag
        ``mgx.resume_points`` gains ``<resume_step>@<time ms>``); a run that no longer
        exists gives a new run tagged ``mgx.previous_run_id`` and a warning. A store
        that cannot be reached gives a warning and a spooled run; training goes on.
        An unwritable store path or a deleted experiment raise ConfigError.

        A new run without ``settings.run_name`` is named after the config file and the
        ``mode`` plus a random part (``dcgan-3f9a1c``, ``dcgan-test-07b2e4``).
        ``on_run_opened(run_id)`` is called as soon as the run id is known, before
        anything is logged (the engine records it in the work dir).
        """
        tracker = cls(settings, work_dir)
        if not settings.enabled:
            return tracker
        tracker.run_name = settings.run_name or default_run_name(config_file, mode)
        configure_http_env()
        tracker.work_dir.mkdir(parents=True, exist_ok=True)
        uri = tracker.tracking_uri = settings.resolve_uri()
        prepare_store(uri)  # ConfigError naming the path when it cannot be written
        from mlflow import MlflowClient

        client = tracker.client = MlflowClient(uri)
        spool = SpoolWriter(tracker.work_dir, uri)
        unanswered = health_failure(uri, settings.store_wait_s)  # start-up waits for a store at most that
        if unanswered is None:
            _replay_earlier_sessions(spool)

        params = clean_params(config_flat or {})
        run_tags = clean_tags(tags if tags is not None else default_tags(config_file=config_file))
        offline = False
        try:
            if unanswered is not None:
                raise unanswered
            run_id, params, extra_tags = tracker._open_run(client, uri, run_id_to_resume, params, run_tags,
                                                           resume_step, spool)
        except Exception as exc:  # noqa: BLE001 - unreachable store: spool and carry on
            if isinstance(exc, ConfigError) or not ops.is_store_failure(exc):
                raise
            if ops.classify_error(exc) == ops.INVALID:
                raise ConfigError(f"tracking store {uri} refused to open the run: {exc}") from exc
            offline = True
            run_id, extra_tags = tracker._open_offline_run(exc, spool, run_id_to_resume, resume_step)
        if on_run_opened is not None:
            on_run_opened(run_id)
        state = tracker._state = RunState(run_id, uri, spool, offline, settings.offline_retry_s,
                                          settings.retry_delays_s)
        if offline:
            state.problems.append(f"store {uri} unreachable at start")
        tracker._start_writers(client, state)
        tracker._put(("t", {**run_tags, **extra_tags}))
        if params:
            tracker._put(("p", params))
        tracker._tmp = Path(tempfile.mkdtemp(prefix="mgx-tracking-"))
        tracker._log_run_files(log_environment, config_file, resolved_config_text)
        if settings.system_metrics:
            tracker._sampler = SystemMetricsSampler(tracker.log_metrics, tracker.work_dir,
                                                    settings.system_metrics_interval_s)
            tracker._sampler.start()
        if settings.freeze_gc:
            gc.freeze()  # see TrackingSettings.freeze_gc: no second-long full collections mid-training
        _OPEN_TRACKERS.add(tracker)
        return tracker

    def _start_writers(self, client, state: RunState) -> None:
        """The metric writer (in a helper process for a server store, see TrackingSettings)
        and the artifact uploader, both background threads."""
        writer_client = client
        if self.settings.writes_in_helper_process(self.tracking_uri):
            writer_client = self._batch_client = OutOfProcessBatches(client, self.tracking_uri)
            self._batch_client.start()  # imports MLflow beside the model's set-up; this process writes till then
        self._writer = MetricWriter(writer_client, state, self.settings.flush_interval_s)
        self._uploader = ArtifactUploader(client, state)
        self._put = self._writer.queue.put
        self._put_metrics = self._writer.put_metrics
        self._writer.start()
        self._uploader.start()

    def _open_offline_run(self, failure: Exception, spool: SpoolWriter, run_id_to_resume: str | None,
                          resume_step: int | None) -> tuple[str, dict[str, str]]:
        """(run id, extra tags) of a run logged to the spool because the store is unreachable."""
        run_id = load_id_map(spool.dir).get(run_id_to_resume, run_id_to_resume) if run_id_to_resume else None
        extra_tags = {}
        if resume_step is not None:
            extra_tags["mgx.resumed_from_step"] = str(resume_step)
        if run_id is None:
            run_id = new_offline_id()
            spool.append([{"op": "create_run", "run": run_id, "experiment": self.settings.experiment,
                           "run_name": self.run_name, "start_time": _now_ms(), "tags": {}}])
        log.warning(
            "tracking store %s unreachable (%s): run %s is logged to the spool %s; training goes on. "
            "Replay later with `mgx sync %s`", self.tracking_uri, str(failure)[:300], run_id, spool.dir, self.work_dir,
        )
        return run_id, extra_tags

    def _log_run_files(self, log_environment: bool, config_file: Path | None, resolved_config_text: str | None) -> None:
        """The run's environment (pip freeze), its config file and the resolved config, as artifacts."""
        if log_environment:
            self.log_text(pip_freeze_text(), "environment/requirements.txt")
        if config_file is not None:
            self.log_artifact(Path(config_file), "config")
        if resolved_config_text is not None:
            name = Path(config_file).name if config_file else "config.py"
            self.log_text(resolved_config_text, f"config/resolved_{name}")

    def _open_run(self, client, uri, resume_id, params, run_tags, resume_step, spool):
        """(run id, params still to log, extra tags) for a new or resumed run; raises when unreachable."""
        from mlflow.exceptions import MlflowException

        self.experiment_id = get_or_create_experiment(client, uri, self.settings.experiment)
        extra: dict[str, str] = {}
        if resume_id:
            real_id = load_id_map(spool.dir).get(resume_id, resume_id)
            run = None
            if not real_id.startswith(OFFLINE_PREFIX):
                try:
                    run = client.get_run(real_id)
                except MlflowException as exc:
                    if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
                        raise
            if run is not None and run.info.lifecycle_stage == "active":
                self.experiment_id = run.info.experiment_id
                client.update_run(real_id, status="RUNNING")
                for staged in ops.remove_interrupted_uploads(run.info.artifact_uri):
                    log.warning("tracking: removed %s, an upload the killed session left unfinished", staged)
                points = [p for p in run.data.tags.get(RESUME_POINTS_TAG, "").split(",") if p]
                points.append(f"{resume_step if resume_step is not None else '?'}@{_now_ms()}")
                extra[RESUME_POINTS_TAG] = ",".join(points)[-ops.MAX_PARAMS_OR_TAGS_PER_CALL * 80:]
                if resume_step is not None:
                    extra["mgx.resumed_from_step"] = str(resume_step)
                stored = run.data.params
                changed = {k: v for k, v in params.items() if k in stored and stored[k] != v}
                if changed:
                    log.warning("tracking: resumed run %s has different values for params %s; MLflow keeps "
                                "the first values, the new ones are in tag mgx.resume_changed_params",
                                real_id, ", ".join(sorted(changed)))
                    extra["mgx.resume_changed_params"] = ", ".join(f"{k}={v}" for k, v in sorted(changed.items()))
                return real_id, {k: v for k, v in params.items() if k not in stored}, extra
            if real_id.startswith(OFFLINE_PREFIX):
                raise ConnectionError(f"offline run {resume_id} is not in the store yet")  # keep spooling it
            log.warning("tracking: run %s to resume no longer exists in %s; starting a new run linked to it "
                        "by tag %s", resume_id, uri, PREVIOUS_RUN_TAG)
            extra[PREVIOUS_RUN_TAG] = resume_id
        run = client.create_run(self.experiment_id, run_name=self.run_name)
        return run.info.run_id, params, extra

    # -- logging (all non-blocking) -----------------------------------------------------------
    @property
    def enabled(self) -> bool:
        return self._state is not None

    @property
    def run_id(self) -> str | None:
        """The MLflow run id (``offline-<hex>`` while a run that started offline is not yet in the store)."""
        return self._state.run_id if self._state else None

    @property
    def store_offline(self) -> bool:
        """True while the store is known not to answer (records go to the spool for ``mgx sync``)."""
        return bool(self._state is not None and self._state.offline)

    @property
    def problems(self) -> list[str]:
        """Tracking problems so far (store down, refused values, failed uploads)."""
        return list(self._state.problems) if self._state else []

    def log_metrics(self, values: Mapping[str, float], step: int) -> None:
        """Queue metric values for ``step`` (the global iteration). Only enqueues: no I/O here.

        Pass Python floats (a tensor is read on the writer thread).
        """
        if self._put_metrics is not None:
            self._put_metrics(dict(values), step, time.time_ns() // 1_000_000)

    def log_params(self, params: Mapping[str, object]) -> None:
        """Queue params (values over MLflow's limit are truncated with a marker)."""
        if self._put is not None:
            self._put(("p", clean_params(params)))

    def set_tags(self, tags: Mapping[str, object]) -> None:
        """Queue tags."""
        if self._put is not None:
            self._put(("t", clean_tags(tags)))

    def log_artifact(self, path: Path, artifact_path: str | None = None) -> None:
        """Upload a file (or folder) in the background; failures are retried, reported, spooled."""
        if self._uploader is not None:
            self._uploader.put({"op": "artifact", "path": str(Path(path).resolve()), "artifact_path": artifact_path})

    def log_text(self, text: str, artifact_file: str) -> None:
        """Upload ``text`` as ``artifact_file`` (e.g. ``"config/resolved.py"``)."""
        if self._uploader is None:
            return
        local = self._tmp / uuid.uuid4().hex[:8] / Path(artifact_file).name
        local.parent.mkdir(parents=True)
        local.write_text(text, encoding="utf-8")
        folder = str(Path(artifact_file).parent).replace("\\", "/")
        self.log_artifact(local, None if folder in ("", ".") else folder)

    def log_dict(self, data: Mapping, artifact_file: str) -> None:
        """Upload ``data`` as JSON (e.g. test results: ``log_dict(results, "test/results.json")``)."""
        import json

        self.log_text(json.dumps(data, indent=2, sort_keys=True, default=str), artifact_file)

    def log_image(self, png_path: Path, key: str, step: int) -> None:
        """Upload a PNG as the step-``step`` image of ``key`` (UI image grid with a step slider)."""
        if self._uploader is None:
            return
        if not ops.IMAGE_KEY_PATTERN.match(key):
            raise ValueError(f"image key {key!r} may only hold letters, digits, '_', '-', '.', '/', ' '")
        self._uploader.put({"op": "image", "path": str(Path(png_path).resolve()), "key": key, "step": int(step),
                            "timestamp": _now_ms(), "uuid": uuid.uuid4().hex})

    def log_checkpoint(self, path: Path, kind: str) -> bool:
        """Upload a checkpoint under ``checkpoints/<kind>/`` if the policy says so; returns whether queued.

        A newer "best" or "last" checkpoint replaces an older one still waiting in the queue.
        Write checkpoints atomically (temp file + rename): the upload reads the file later.
        """
        if self._uploader is None or not self.settings.uploads_checkpoint(kind):
            return False
        from mgx.core.tracking.run_source import CHECKSUM_SUFFIX, checksum_record

        # the checksum sidecar lets `--resume-run` verify the file it downloads elsewhere
        sidecar = checksum_record(Path(path))
        self._uploader.put({"op": "artifact", "path": str(Path(path).resolve()),
                            "artifact_path": f"checkpoints/{kind}"},
                           slot=None if kind == "periodic" else f"checkpoint-{kind}")
        self.log_text(sidecar, f"checkpoints/{kind}/{Path(path).name}{CHECKSUM_SUFFIX}")
        return True

    def flush_metrics(self, timeout: float | None = None) -> bool:
        """Wait until the metrics, params and tags queued so far are written or spooled
        (artifact uploads go on in the background); False on timeout. The engine calls
        this before committing a checkpoint, so that a crash after it loses no value the
        resumed run will not log again."""
        if self._writer is None or self._closed:
            return True
        done = threading.Event()
        self._put(("flush", done))
        return done.wait(self.settings.flush_timeout_s if timeout is None else timeout)

    def secure_for_checkpoint(self) -> bool:
        """Make the metrics, params and tags queued so far safe - in the store, or else in the
        spool - before the engine commits a checkpoint (a crash after it then loses no value the
        resumed run would not log again). Waits at most ``settings.store_wait_s``: a store that
        does not answer by then (hung server, stalled network) gets the records spooled from this
        thread and the run goes on offline (``mgx sync`` replays them). While a store call has
        already hung longer than that, or while the store is known offline (the writer probes it in
        the background and goes online again by itself), it does not wait at all: one wait per
        outage. True when the store took them."""
        if self._writer is None or self._closed:
            return True
        budget = self.settings.store_wait_s
        if self._state.offline:  # a known outage: the wait was paid once, when it began
            self._writer.divert("the store is offline")
            return False
        if self._writer.busy_for() < budget:
            done = threading.Event()
            self._put(("flush", done))
            if done.wait(budget):
                return True
        spooled = self._writer.divert(f"no answer within {budget:g} s at a checkpoint")
        log.info("tracking: store %s did not answer within %g s; %d record(s) spooled, training goes on",
                 self.tracking_uri, budget, spooled)
        return False

    def spool_model(self, model_cfg: Mapping, checkpoint: Path, use_ema: bool, register_as: str | None) -> None:
        """Record in the spool, after everything logged so far, that ``checkpoint``'s network is this run's
        model (``mgx sync`` logs it once the store answers); for a store that is down at the end."""
        if self._writer is None or self._closed:
            return
        self._writer.divert("the store is offline at the end of training")
        self._state.spool.append([{"op": "model", "run": self._state.run_id, "model_cfg": dict(model_cfg),
                                   "checkpoint": str(Path(checkpoint).resolve()), "use_ema": bool(use_ema),
                                   "register": register_as}])

    def reconnect(self, timeout: float) -> bool:
        """While the store is known offline, try it now (not at the next ``offline_retry_s``
        probe) and replay the spool if it answers; waits at most ``timeout``. True when the
        store takes writes again (or never stopped)."""
        if self._state is None:
            return False
        if not self._state.offline:
            return True
        if self._writer is None or self._closed:
            return False
        self._state.request_probe()
        done = threading.Event()
        self._put(("flush", done))
        done.wait(timeout)
        return not self._state.offline

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything queued so far is written or spooled; False on timeout."""
        if self._writer is None or self._closed:
            return True
        timeout = self.settings.flush_timeout_s if timeout is None else timeout
        deadline = time.monotonic() + timeout
        done = threading.Event()
        self._put(("flush", done))
        ok = done.wait(timeout)
        return self._uploader.drain(max(0.0, deadline - time.monotonic())) and ok

    # -- closing ------------------------------------------------------------------------------
    def finish(self, status: str = "FINISHED") -> bool:
        """End the run with ``status`` (FINISHED, FAILED or KILLED).

        Waits at most ``settings.flush_timeout_s`` (default 30 s) for the store; what is
        still pending then is spooled (with the end status) for ``mgx sync``. Returns True
        when everything reached the store.
        """
        if status not in END_STATUSES:
            raise ValueError(f"finish status must be one of {END_STATUSES}, not {status!r}")
        return self._close(status)

    def leave_open_preempted(self) -> bool:
        """Flush and stop, leaving the run RUNNING with tag ``mgx.preempted=true`` (for a requeued job)."""
        self.set_tags({"mgx.preempted": "true", "mgx.preempted_at_ms": str(_now_ms())})
        return self._close(None)

    def _close(self, status: str | None) -> bool:
        if self._closed or self._state is None:
            return True
        self._closed = True
        _OPEN_TRACKERS.discard(self)
        if self._sampler is not None:
            self._sampler.stop()
        # a store already known not to answer is not waited for again (the writer only spools then;
        # a probe of the store it may be stuck in is abandoned): the rest goes to the spool
        budget = min(self.settings.store_wait_s, 0.5) if self._state.offline else self.settings.flush_timeout_s
        deadline = time.monotonic() + budget
        flushed = threading.Event()
        self._put(("flush", flushed))
        self._uploader.close()
        uploads_done = self._uploader.drain(budget)
        ended = threading.Event()
        self._put(("end", status, _now_ms(), ended))
        self._put(("stop",))
        ended.wait(max(0.0, deadline - time.monotonic()))
        clean = uploads_done and ended.is_set()
        if not clean:
            self._abandon(status, budget)
        if self._batch_client is not None:
            if ended.is_set():
                self._batch_client.close()
            else:  # abandoned: the spool holds the records now, so no late write may land
                self._batch_client.kill()
        self._state.spool.close()
        spooled = pending_record_count(self._state.spool.dir)  # what a reconnect replayed is not counted
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
        if spooled:
            log.warning("tracking: %d record(s) (run %s) are in the spool %s; they are replayed at the next "
                        "start in this work dir or by `mgx sync %s`", spooled, self.run_id, self._state.spool.dir,
                        self.work_dir)
        return clean and not spooled

    def _abandon(self, status: str | None, budget: float) -> None:
        """The store did not answer in time: spool everything still pending, then let the threads go."""
        self._state.report(f"tracking store {self.tracking_uri} did not take everything within "
                           f"{budget:g} s; the rest is spooled")
        records = self._writer.abandon()
        if status is not None:
            records.append({"op": "terminate", "run": self._state.run_id, "status": status, "end_time": _now_ms()})
        self._state.spool.append(records)
        self._uploader.spool_records(self._uploader.abandon())


_OPEN_TRACKERS: "weakref.WeakSet[Tracker]" = weakref.WeakSet()


@atexit.register
def _close_forgotten_trackers() -> None:
    """A process that exits without finish() records its run as KILLED (after a bounded flush)."""
    for tracker in list(_OPEN_TRACKERS):
        try:
            tracker.finish("KILLED")
        except Exception:  # noqa: BLE001 - never fail interpreter exit
            pass
