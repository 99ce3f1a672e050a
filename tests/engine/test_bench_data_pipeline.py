"""benchmarks/bench_data_pipeline.py runs (smoke mode) and prints its table: the figures in
docs/performance.md come from this script."""
from __future__ import annotations

import re
import subprocess
import sys

from engine_helpers import REPO, mgx_env


def test_data_pipeline_benchmark_smoke() -> None:
    result = subprocess.run([sys.executable, str(REPO / "benchmarks" / "bench_data_pipeline.py"), "--smoke"],
                            env=mgx_env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    rows = re.findall(r"^\s+([12])\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)$", result.stdout, re.M)
    assert [row[0] for row in rows] == ["1", "2"], result.stdout
    assert all(float(rate) > 0 for row in rows for rate in row[1:]), result.stdout
