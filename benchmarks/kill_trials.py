"""Fault trials of issue 23: `kill -9` a training at a random moment, `--resume` it, and count what
went wrong. Prints one line per trial and the totals the closing note quotes:

- a **missing final checkpoint**: after the resumed run exits 0, `iter_<max>.pth` is absent, does not
  load, or `last_checkpoint` does not name it;
- a **silent skip**: the killed session left a checkpoint file that does not load (truncated by the
  kill) and the resumed session's output does not name it.

Each trial: a fresh folder, `mgx run train configs/example_config.py --no-track` with a checkpoint at
every few iterations, SIGKILL to its process group after a random delay (seeded), then `--resume`.

    OMP_NUM_THREADS=1 python benchmarks/kill_trials.py --trials 20
"""
from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "configs" / "example_config.py"


def _command(work: Path, max_iters: int, *extra: str) -> list[str]:
    return [sys.executable, "-m", "mgx.cli", "run", "train", str(CONFIG), "--work-dir", str(work), "--no-track",
            *extra, "--cfg-options", f"train_cfg.max_iters={max_iters}", "train_cfg.val_interval=1000000",
            "default_hooks.checkpoint.interval=3", "default_hooks.checkpoint.max_keep_ckpts=-1",
            "default_hooks.logger.interval=1"]


def _loads(path: Path) -> bool:
    import torch

    try:
        torch.load(path, map_location="cpu", weights_only=False)
        return True
    except Exception:  # noqa: BLE001 - any failure to read is "does not load"
        return False


def trial(index: int, root: Path, max_iters: int, rng: random.Random) -> dict:
    work = root / f"trial-{index:02d}"
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    process = subprocess.Popen(_command(work, max_iters), env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    seen = 0
    deadline = time.monotonic() + 600
    kill_after = rng.randint(1, max_iters - 1)  # the iteration line after which the kill comes
    delay = rng.uniform(0.0, 0.3)  # and a little later: mid-step, mid-save
    for line in process.stderr:
        if "Iter [" in line and "/" in line:
            seen += 1
        if seen >= kill_after or time.monotonic() > deadline:
            break
    time.sleep(delay)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    unreadable = sorted(p.name for p in work.glob("*.pth") if not _loads(p))
    resumed = subprocess.run(_command(work, max_iters, "--resume"), env=env, capture_output=True, text=True,
                             timeout=900)
    final = work / f"iter_{max_iters}.pth"
    marker = (work / "last_checkpoint").read_text().strip() if (work / "last_checkpoint").exists() else ""
    missing = resumed.returncode != 0 or not final.is_file() or not _loads(final) or Path(marker).name != final.name
    silent = [name for name in unreadable if name not in resumed.stderr]
    return {"trial": index, "killed_after_iter": kill_after, "unreadable_after_kill": unreadable,
            "resume_rc": resumed.returncode, "missing_final": missing, "silent_skips": silent}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--max-iters", type=int, default=12)
    parser.add_argument("--seed", type=int, default=23)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    results = []
    with tempfile.TemporaryDirectory(prefix="mgx-kill-") as scratch:
        for index in range(args.trials):
            results.append(trial(index, Path(scratch), args.max_iters, rng))
            print(results[-1], flush=True)
    missing = sum(r["missing_final"] for r in results)
    silent = sum(len(r["silent_skips"]) for r in results)
    torn = sum(len(r["unreadable_after_kill"]) for r in results)
    print(f"\n{len(results)} kill -9 trials: {missing} missing final checkpoints, {silent} silent skips "
          f"({torn} checkpoint files left unreadable by the kills, each named by the resumed run)")
    return 1 if missing or silent else 0


if __name__ == "__main__":
    sys.exit(main())
