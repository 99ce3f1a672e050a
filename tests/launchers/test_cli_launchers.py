"""`mgx run` hands launcher flags to the launchers: foreign flags and a missing Slurm
are clear errors with the right exit codes (no job starts)."""
import subprocess

import pytest

from launcher_helpers import mgx, mgx_env


@pytest.mark.timeout(120)
@pytest.mark.parametrize("launcher, flags, named", [
    ("dist", ["--partition", "dev"], "--partition"),
    ("slurm", ["--nnodes", "2"], "--nnodes"),
    ("local", ["--gpus", "2"], "--gpus"),
])
def test_foreign_launcher_flags_exit_2(tiny_config, tmp_path, launcher, flags, named):
    result = subprocess.run(mgx("run", "train", str(tiny_config), "--work-dir", str(tmp_path), "--no-track",
                                "--launcher", launcher, *flags), cwd=tmp_path, env=mgx_env(),
                            capture_output=True, text=True, timeout=100)
    assert result.returncode == 2, result.stderr[-2000:]
    assert named in result.stderr and f"--launcher {launcher}" in result.stderr
    assert not list(tmp_path.glob("*.pth"))


@pytest.mark.timeout(120)
def test_slurm_missing_exit_1(tiny_config, tmp_path):
    import os
    import sys

    env = mgx_env(PATH=os.path.dirname(sys.executable))  # python only: no sbatch
    result = subprocess.run(mgx("run", "test", str(tiny_config), "x.pth", "--work-dir", str(tmp_path),
                                "--launcher", "slurm", "--partition", "dev"), cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=100)
    assert result.returncode == 1, result.stderr[-2000:]
    assert "Slurm is missing" in result.stderr
