"""benchmarks/gpu_check.sh on a CPU machine: one table, the GPU rows skipped with the reason,
the CPU rows measured, exit status 0 (and 1 when a row fails)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _run(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHON=sys.executable, OMP_NUM_THREADS="1", CUDA_VISIBLE_DEVICES="")
    return subprocess.run(["bash", str(REPO / "benchmarks" / "gpu_check.sh"), "--quick", "--steps", "1", *args],
                          capture_output=True, text=True, env=env, timeout=240)


@pytest.mark.timeout(300)
def test_gpu_check_on_a_cpu_machine_skips_gpu_rows_and_measures_the_rest() -> None:
    done = _run("--no-compile")
    assert done.returncode == 0, done.stdout + done.stderr
    table = done.stdout.splitlines()
    header = next(index for index, line in enumerate(table) if line.startswith("case"))
    rows = {line.split("  ")[0]: line for line in table[header + 1:-1]}
    assert table[-1] == f"{len(rows)} rows: 0 failed, 10 skipped"
    for case in ("stylegan2 64px amp float16", "edsr 192px amp bfloat16", "torchrun --nproc-per-node 1 (nccl)",
                 "pinned-memory host->device copies", "KID on the GPU", "FSDP2 2 GPUs (nccl), DCP resumed in 1"):
        assert "skip    no CUDA device on this machine" in rows[case], rows[case]
    assert " ok " in rows["edsr 64px b2 eager (cpu)"] and "ms/step" in rows["edsr 64px b2 eager (cpu)"]
    assert "x eager" in rows["edsr 64px b2 channels_last (cpu)"]
    assert "skip    --no-compile" in rows["stylegan2 32px b2 compile(inductor) (cpu)"]
    assert "images/s" in rows["Inception (pytorch-fid arch) features (cpu)"]


def test_gpu_check_exits_non_zero_when_a_row_fails(monkeypatch, capsys) -> None:
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import gpu_check
    finally:
        sys.path.remove(str(REPO / "benchmarks"))

    def broken(quick: bool) -> str:
        raise AssertionError("features not finite")

    monkeypatch.setattr(gpu_check, "inception_row", broken)
    monkeypatch.setattr(gpu_check, "step_rows", lambda *args: None)
    monkeypatch.setattr(sys, "argv", ["gpu_check.py", "--quick"])
    assert gpu_check.main() == 1
    out = capsys.readouterr().out
    assert "FAIL    AssertionError: features not finite" in out
    assert out.splitlines()[-1] == "9 rows: 1 failed, 8 skipped"
