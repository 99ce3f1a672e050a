"""Helpers shared by the tracking tests (a unique module name: no clash with other conftests)."""
from __future__ import annotations

import os
from pathlib import Path

from mgx.core.tracking import Tracker, TrackingSettings
from mgx.core.tracking.server import free_port, start_server, stop_server, wait_healthy


def fast_settings(**overrides) -> TrackingSettings:
    """Settings with short waits, for tests."""
    values = dict(flush_interval_s=0.2, offline_retry_s=1.0, retry_delays_s=(0.2,), flush_timeout_s=20.0)
    values.update(overrides)
    return TrackingSettings(**values)


class LocalServer:
    """A real `mlflow server` on 127.0.0.1 over a SQLite store; can be killed and restarted."""

    def __init__(self, root: Path):
        self.root = root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.backend = f"sqlite:///{root / 'server.db'}"
        self.log = root / "server.log"
        self.process = None

    def start(self) -> "LocalServer":
        from mgx.core.tracking.store import ensure_sqlite_store

        ensure_sqlite_store(self.root / "server.db")  # from the template: no 5 s migration
        self.process = start_server(self.backend, self.root / "artifacts", self.port, log_path=self.log)
        wait_healthy(self.url, self.process, timeout_s=90, log_path=self.log)
        return self

    def kill(self) -> None:
        """SIGKILL the whole server (a crash, not a clean shutdown)."""
        import signal

        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def freeze(self, frozen: bool) -> None:
        """SIGSTOP / SIGCONT the server: it accepts connections but never answers."""
        import signal

        os.killpg(self.process.pid, signal.SIGSTOP if frozen else signal.SIGCONT)

    def stop(self) -> None:
        if self.process is not None:
            stop_server(self.process)


def make_two_runs(workspace, tmp_path, experiment="compare"):
    """Two finished runs with one differing param and loss/PSNR curves; returns their trackers."""
    trackers = []
    for name, lr, scale in (("alpha-run", "0.1", 1.0), ("beta-run", "0.01", 2.0)):
        tracker = Tracker.start(fast_settings(workspace=workspace, experiment=experiment, run_name=name),
                                tmp_path / name, config_flat={"lr": lr, "batch": "64"}, log_environment=False)
        for step in range(0, 100, 10):
            tracker.log_metrics({"loss": scale / (step + 1), "PSNR/psnr": 20 + step / 10 * scale}, step=step)
        tracker.finish()
        trackers.append(tracker)
    return trackers


# a DCGAN small enough for real trainings in tracking tests (add train_cfg, val_*, hooks)
TINY_GAN_TRAIN = """
model = dict(type='DCGAN', latent_dim=8, image_size=16, channels=3, base_channels=8)
train_dataloader = dict(batch_size=16, drop_last=True,
    dataset=dict(type='DigitsDataset', image_size=16, split='train', pipeline=[dict(type='PackInputs')]))
optim_wrapper = dict(generator=dict(optimizer=dict(type='Adam', lr=1e-3)),
                     discriminator=dict(optimizer=dict(type='Adam', lr=1e-3)))
"""
