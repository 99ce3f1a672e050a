"""The dist launcher's torchrun invocation with a tiny worker (real torch.distributed.run, gloo)."""
import subprocess
import sys
import textwrap
import time

import pytest

RUN = textwrap.dedent("""
    import sys
    from mgx.plugins.launchers.dist import plan, run_torchrun
    resolved = plan({"gpus": 2}, environ={})
    worker = [sys.executable, *sys.argv[1:]]
    sys.exit(run_torchrun(resolved.torchrun_args(worker)))
""")


def _launch(worker, *args, timeout=120):
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", RUN, *worker[1:], *args], capture_output=True,
                          text=True, timeout=timeout)
    return proc, time.monotonic() - started


@pytest.mark.timeout(180)
def test_two_cpu_ranks_rendezvous(tiny_worker, tmp_path):
    proc, _ = _launch(tiny_worker, str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "rank 0 sum 3" in proc.stdout and "rank 1 sum 3" in proc.stdout


@pytest.mark.timeout(180)
def test_failing_rank_fails_the_job_with_its_error(tiny_worker, tmp_path):
    proc, elapsed = _launch(tiny_worker, str(tmp_path), "--fail-rank", "1")
    assert proc.returncode == 1
    output = proc.stdout + proc.stderr
    assert "tiny worker rank 1 fails on purpose" in output
    assert "Root Cause" in output and "rank      : 1" in output
    assert elapsed < 90  # bounded: torchrun stops the other rank, no collective timeout
