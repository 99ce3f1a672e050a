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
    # workers, mgx img/s, ref img/s, ratio, mgx CPU ms/image, ref CPU ms/image, CPU ratio, the rounds' spread
    rows = re.findall(r"^\s+([12])" + r"\s+([\d.]+)" * 6 + r"\s+rounds: wall ", result.stdout, re.M)
    assert [row[0] for row in rows] == ["1", "2"], result.stdout
    assert all(float(value) > 0 for row in rows for value in row[1:]), result.stdout
