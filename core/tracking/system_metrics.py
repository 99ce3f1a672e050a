"""System metrics (psutil) sampled on a thread and logged like any metric.

Names follow MLflow's own system-metrics keys (``system/...``), so the MLflow UI
shows them in its "System metrics" section. Step = sample number.
"""
from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Callable

MB = 1024 * 1024


def sample_system_metrics(disk_path: Path) -> dict[str, float]:
    """One sample of CPU, memory, disk, network (and CUDA memory if torch already uses it)."""
    import psutil

    memory = psutil.virtual_memory()
    disk = psutil.disk_usage(str(disk_path))
    net = psutil.net_io_counters()
    values = {
        "system/cpu_utilization_percentage": psutil.cpu_percent(interval=None),
        "system/system_memory_usage_megabytes": (memory.total - memory.available) / MB,
        "system/system_memory_usage_percentage": memory.percent,
        "system/disk_usage_percentage": disk.percent,
        "system/disk_usage_megabytes": disk.used / MB,
        "system/disk_available_megabytes": disk.free / MB,
        "system/network_receive_megabytes": net.bytes_recv / MB,
        "system/network_transmit_megabytes": net.bytes_sent / MB,
        "system/process_rss_megabytes": psutil.Process().memory_info().rss / MB,
    }
    torch = sys.modules.get("torch")  # never import torch for this; only report a GPU already in use
    if torch is not None and torch.cuda.is_initialized():
        for index in range(torch.cuda.device_count()):
            values[f"system/gpu_{index}_memory_reserved_megabytes"] = torch.cuda.memory_reserved(index) / MB
    return values


class SystemMetricsSampler(threading.Thread):
    """Calls ``log(values, step)`` every ``interval_s`` until ``stop()``."""

    def __init__(self, log: Callable[[dict, int], None], disk_path: Path, interval_s: float):
        super().__init__(name="mgx-system-metrics", daemon=True)
        self._log = log
        self._disk_path = disk_path
        self._interval_s = interval_s
        self._stopped = threading.Event()

    def run(self) -> None:
        import psutil

        psutil.cpu_percent(interval=None)  # first call only primes the counter
        step = 0
        while not self._stopped.wait(self._interval_s):
            self._log(sample_system_metrics(self._disk_path), step)
            step += 1

    def stop(self) -> None:
        self._stopped.set()
