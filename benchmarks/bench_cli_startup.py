"""Cold start of the ``mgx`` command next to a bare Python interpreter.

Target: ``mgx --help`` in at most 0.5 s cold (a fresh process; the OS file
cache is warm). Each round runs every command once in a fresh process, in
rotating order (this VM has fast and slow process states; interleaving keeps
the comparison fair), and the script prints medians, spread, and the ratio to
``python -c pass``.

    python benchmarks/bench_cli_startup.py [--runs 21] [--with-plugins]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_S = 0.5


def commands(with_plugins: bool, config_file: str) -> dict[str, list[str]]:
    mgx = str(Path(sys.executable).parent / "mgx")
    table = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "mgx --help": [mgx, "--help"],
        "mgx --version": [mgx, "--version"],
        "mgx config show (tiny)": [mgx, "config", "show", config_file],
    }
    if with_plugins:  # loads every plugin's registrations: imports torch
        table["mgx plugins"] = [mgx, "plugins"]
    return table


def time_once(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, env=env)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=21, help="fresh processes per command (default 21)")
    parser.add_argument("--with-plugins", action="store_true", help="also time `mgx plugins` (imports torch)")
    args = parser.parse_args()

    env = {key: value for key, value in os.environ.items() if key not in ("MGX_DISABLE_PLUGINS", "MGX_DEBUG")}
    with tempfile.TemporaryDirectory() as folder:
        config_file = os.path.join(folder, "tiny.py")
        Path(config_file).write_text("model = dict(type='Net', channels=[8, 16])\ntrain_cfg = dict(max_iters=10)\n")
        table = commands(args.with_plugins, config_file)
        names = list(table)
        for name in names:  # warm the OS file cache and .pyc files once; not counted
            time_once(table[name], env)
        samples: dict[str, list[float]] = {name: [] for name in names}
        for round_index in range(args.runs):
            order = names[round_index % len(names):] + names[:round_index % len(names)]
            for name in order:
                samples[name].append(time_once(table[name], env))

    baseline = statistics.median(samples["python -c pass"])
    print(f"cold starts, {args.runs} fresh processes each, interleaved ({sys.platform}, Python {sys.version.split()[0]})")
    print(f"{'command':<26}{'median s':>10}{'p10 s':>9}{'p90 s':>9}{'x python':>10}{'minus python s':>16}")
    for name in names:
        values = sorted(samples[name])
        median = statistics.median(values)
        p10 = values[max(0, int(0.1 * len(values)) - 1)]
        p90 = values[min(len(values) - 1, int(0.9 * len(values)))]
        print(f"{name:<26}{median:>10.3f}{p10:>9.3f}{p90:>9.3f}{median / baseline:>10.2f}{median - baseline:>16.3f}")
    help_median = statistics.median(samples["mgx --help"])
    verdict = "within" if help_median <= TARGET_S else "OVER"
    print(f"mgx --help median {help_median:.3f} s: {verdict} the {TARGET_S} s target")


if __name__ == "__main__":
    main()
