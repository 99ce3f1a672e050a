"""Tracker vs per-call ``mlflow.log_metric``: 10,000 metric values into SQLite.

Prints side by side:
* throughput (values/s until every value is in the store) and the ratio (goal >= 20x);
* how long the caller is blocked per logged value: a tight loop, and inside a
  loop of ~10 ms "training steps" (numpy work) while the writer thread runs
  (goal <= 1% of a 10 ms step, i.e. <= 100 us).

Usage: python benchmarks/bench_tracking.py [--values 10000] [--steps 300]
"""
from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
from pathlib import Path


def bench_tracker(root: Path, values: int) -> dict:
    from mlflow import MlflowClient

    from mgx.core.tracking import Tracker, TrackingSettings

    settings = TrackingSettings(workspace=root / "tracker_ws", experiment="bench")
    tracker = Tracker.start(settings, root / "tracker_wd", log_environment=False)
    blocked = []
    started = time.perf_counter()
    for step in range(values):
        t0 = time.perf_counter()
        tracker.log_metrics({"loss": 1.0 / (step + 1)}, step=step)
        blocked.append(time.perf_counter() - t0)
    enqueued = time.perf_counter() - started
    tracker.flush(120)
    total = time.perf_counter() - started
    calls = tracker._writer.calls
    stored = len(MlflowClient(tracker.tracking_uri).get_metric_history(tracker.run_id, "loss"))
    tracker.finish()
    return {"total_s": total, "enqueue_s": enqueued, "blocked": blocked, "stored": stored, "calls": calls}


def bench_log_metric(root: Path, values: int) -> dict:
    import mlflow

    from mgx.core.tracking.store import ensure_sqlite_store

    db = root / "plain_ws" / "mlflow.db"
    ensure_sqlite_store(db)  # same template start as the Tracker: only logging is timed
    mlflow.set_tracking_uri(f"sqlite:///{db}")
    mlflow.set_experiment("bench")
    with mlflow.start_run() as run:
        blocked = []
        started = time.perf_counter()
        for step in range(values):
            t0 = time.perf_counter()
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
            blocked.append(time.perf_counter() - t0)
        total = time.perf_counter() - started
    stored = len(mlflow.MlflowClient().get_metric_history(run.info.run_id, "loss"))
    return {"total_s": total, "enqueue_s": total, "blocked": blocked, "stored": stored, "calls": values}


def _calibrated_step(python_s: float = 0.005, wait_s: float = 0.005):
    """A stand-in for a GPU training step: ~5 ms of GIL-holding Python (kernel launches,
    bookkeeping) then ~5 ms waiting with the GIL released (the device sync)."""

    def unit():
        return sum(i * i for i in range(2000))

    trials = []
    for _ in range(50):
        t0 = time.perf_counter()
        unit()
        trials.append(time.perf_counter() - t0)
    reps = max(1, round(python_s / min(trials)))  # min: robust to a loaded machine

    def step():
        for _ in range(reps):
            unit()
        time.sleep(wait_s)

    return step


def bench_in_training_loop(root: Path, steps: int, rounds: int = 6, metrics_per_step: int = 8,
                           log_every: int = 1) -> dict:
    """Step time and log_metrics blocking with tracking on vs off, rounds interleaved in one process."""
    from mgx.core.tracking import Tracker, TrackingSettings

    step = _calibrated_step()
    results = {"on": {"blocked": [], "step": []}, "off": {"blocked": [], "step": []}, "round_ratios": []}
    for round_index in range(rounds):
        for mode in ("off", "on"):
            settings = TrackingSettings(workspace=root / "loop_ws", experiment="loop", enabled=mode == "on")
            tracker = Tracker.start(settings, root / f"loop_wd_{mode}_{round_index}", log_environment=False)
            for index in range(steps):
                s0 = time.perf_counter()
                step()
                if index % log_every == 0:
                    values = {f"loss/{i}": float(index + i) for i in range(metrics_per_step)}
                    t0 = time.perf_counter()
                    tracker.log_metrics(values, step=index)
                    results[mode]["blocked"].append(time.perf_counter() - t0)
                results[mode]["step"].append(time.perf_counter() - s0)
            tracker.finish()
        medians = {m: statistics.median(results[m]["step"][-steps:]) for m in ("on", "off")}
        results["round_ratios"].append(medians["on"] / medians["off"])
    results["metrics_per_step"] = metrics_per_step
    results["log_every"] = log_every
    return results


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:8.1f} us"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--values", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=150, help="Training loop: steps per round and mode.")
    parser.add_argument("--log-every", type=int, default=1, help="Training loop: log every N steps.")
    parser.add_argument("--only-loop", action="store_true", help="Skip the (slow) per-call comparison.")
    args = parser.parse_args()
    logging.getLogger("alembic").setLevel(logging.WARNING)
    import mlflow  # noqa: F401 - import cost outside the timings

    with tempfile.TemporaryDirectory(prefix="mgx-bench-") as tmp:
        root = Path(tmp)
        loop = bench_in_training_loop(root, args.steps, log_every=args.log_every)
        if not args.only_loop:
            tracker = bench_tracker(root, args.values)
            plain = bench_log_metric(root, args.values)

    def rate(r):
        return args.values / r["total_s"]

    def p99(xs):
        return sorted(xs)[int(len(xs) * 0.99) - 1]

    if not args.only_loop:
        print(f"{args.values} values of one metric into SQLite (both stores start from the template)\n")
        print(f"{'':32s}{'Tracker':>16s}{'mlflow.log_metric':>20s}{'ratio':>10s}")
        print(f"{'values in the store':32s}{tracker['stored']:>16d}{plain['stored']:>20d}")
        print(f"{'store calls':32s}{tracker['calls']:>16d}{plain['calls']:>20d}")
        print(f"{'wall time until stored':32s}{tracker['total_s']:>14.2f} s{plain['total_s']:>18.2f} s"
              f"{plain['total_s'] / tracker['total_s']:>9.1f}x")
        print(f"{'throughput (values/s)':32s}{rate(tracker):>16.0f}{rate(plain):>20.0f}"
              f"{rate(tracker) / rate(plain):>9.1f}x   (goal >= 20x)")
        for label, fn in (("caller blocked / value, mean", statistics.fmean), ("caller blocked / value, median",
                                                                               statistics.median),
                          ("caller blocked / value, p99", p99), ("caller blocked / value, max", max)):
            t, p = fn(tracker["blocked"]), fn(plain["blocked"])
            print(f"{label:32s}{_us(t):>16s}{_us(p):>20s}{p / t:>9.0f}x")
        print()
    per = loop["metrics_per_step"]
    on, off = loop["on"], loop["off"]
    step_on, step_off = statistics.median(on["step"]), statistics.median(off["step"])
    print(f"inside a training loop: ~{step_off * 1e3:.1f} ms steps (5 ms Python + 5 ms GIL-free wait), {per} "
          f"metrics logged every {loop['log_every']} step(s), {len(on['step'])} steps each, on/off interleaved")
    print(f"{'':32s}{'tracking on':>16s}{'off (no-op)':>20s}")
    print(f"{'median step time':32s}{step_on * 1e3:>13.3f} ms{step_off * 1e3:>17.3f} ms"
          f"   overhead {(step_on / step_off - 1) * 100:+.2f}%")
    ratios = sorted(loop["round_ratios"])
    print(f"{'per-round step-time ratio on/off':32s}  median {statistics.median(ratios):.3f}, "
          f"range {ratios[0]:.3f}-{ratios[-1]:.3f} over {len(ratios)} rounds")
    print(f"{'mean step time':32s}{statistics.fmean(on['step']) * 1e3:>13.3f} ms"
          f"{statistics.fmean(off['step']) * 1e3:>17.3f} ms")
    for label, fn in (("log_metrics call, mean", statistics.fmean), ("log_metrics call, median", statistics.median),
                      ("log_metrics call, p99", p99), ("log_metrics call, max", max)):
        print(f"{label:32s}{_us(fn(on['blocked'])):>16s}{_us(fn(off['blocked'])):>20s}")
    mean_value = statistics.fmean(on["blocked"]) / per
    print(f"blocked per logged value (mean): {_us(mean_value).strip()} = {mean_value / 0.010 * 100:.3f}% of a 10 ms "
          "step   (goal <= 1%)")


if __name__ == "__main__":
    main()
