"""`--from-run RUN` without `--work-dir` trains in a fresh folder of its own: twice in a row gives
two folders and two runs, and the source's config-named folder is left as it was."""
from __future__ import annotations

from pathlib import Path

from mlflow import MlflowClient

from run_record_helpers import run_mgx, write_tiny_config
from mlflow_runs import every_run  # noqa: E402


def test_from_run_twice_gives_two_folders_and_two_runs(tmp_path: Path) -> None:
    config = write_tiny_config(tmp_path, max_iters=1, val_interval=1, ckpt_interval=1)
    source = run_mgx("run", "train", str(config), "--run-name", "source-run", cwd=tmp_path)
    assert source.returncode == 0, source.stderr
    source_folder = tmp_path / "work_dirs" / config.stem
    source_record = (source_folder / "mgx_run.json").read_bytes()
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    (source_run,) = every_run(client)
    short = source_run.info.run_id[:8]

    for _ in range(2):
        rerun = run_mgx("run", "train", "--from-run", "source-run", cwd=tmp_path)
        assert rerun.returncode == 0, rerun.stderr

    first, second = tmp_path / "work_dirs" / f"{config.stem}-from-{short}", tmp_path / "work_dirs" / f"{config.stem}-from-{short}-2"
    assert (first / "iter_1.pth").is_file() and (second / "iter_1.pth").is_file()
    assert (source_folder / "mgx_run.json").read_bytes() == source_record
    runs = every_run(client)
    reruns = [r for r in runs if r.data.tags.get("mgx.source_run_id") == source_run.info.run_id]
    assert len(reruns) == 2 and len({r.info.run_id for r in reruns}) == 2
