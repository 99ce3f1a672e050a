"""Run MMagic 1.2.0's configs under mgx as a new user would, and print the tables of docs/zoo.md.

For each config of the families asked for: a fresh temporary folder, the synthetic data the config
reads written there (``benchmarks/zoo_data.py``), then ``mgx run train`` for 2 iterations and
``mgx run test`` on its last checkpoint, with ``MGX_OFFLINE=1`` and only data paths, image
sizes/crops, batch sizes, iterations and ``fake_nums`` overridden (pretrained parts and the
metrics' feature networks are random stand-ins: nothing is downloaded, and the numbers say
nothing about quality). Prints one markdown table per family (config, train, test, seconds,
first line of the error) and the summary rows for docs/zoo.md.

    python benchmarks/zoo_trials.py --family srcnn --family edsr
    python benchmarks/zoo_trials.py --all --timeout 1200 --json results.json
    python benchmarks/zoo_trials.py --family swinir --configs-dir /work/mmagic/src/mmagic/.mim/configs
    python benchmarks/zoo_trials.py --family biggan --family cyclegan --fast --tiny   # seconds per config

The configs come from ``--configs-dir``, else the MMagic 1.2.0 wheel fetched once with
``pip download --no-deps mmagic==1.2.0`` into ``$MGX_TEST_CACHE`` (as tests/mmagic/test_corpus.py
does). Run it with ``OMP_NUM_THREADS=1`` on a shared machine; ``--fast`` uses smaller images and
``--tiny`` tiny network widths (``zoo_data/widths.py``: the layout kept, the channels cut — beyond what
a user changes, so a --tiny row says mgx reads, builds, trains and tests the config, not at its width).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

WHEEL_SPEC = "mmagic==1.2.0"
CONFIG_PREFIX = "mmagic/.mim/configs/"


def cache_dir() -> Path:
    return Path(os.environ.get("MGX_TEST_CACHE", Path(tempfile.gettempdir()) / "mgx-test-cache")) / "mmagic-1.2.0"


def mmagic_configs() -> Path:
    """The wheel's configs folder, downloading and unpacking the wheel once (RuntimeError when it cannot)."""
    cache = cache_dir()
    configs = cache / "configs"
    if (configs / ".complete").exists():
        return configs
    cache.mkdir(parents=True, exist_ok=True)
    wheels = sorted(cache.glob("mmagic-1.2.0-*.whl"))
    if not wheels:
        result = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
                                 "--no-input", WHEEL_SPEC, "-d", str(cache)], capture_output=True, text=True,
                                timeout=300)
        wheels = sorted(cache.glob("mmagic-1.2.0-*.whl"))
        if result.returncode != 0 or not wheels:
            raise RuntimeError(f"cannot download {WHEEL_SPEC}: {(result.stderr or result.stdout).strip()[-300:]}")
    with zipfile.ZipFile(wheels[0]) as wheel:
        for name in wheel.namelist():
            if name.startswith(CONFIG_PREFIX) and name.endswith(".py"):
                target = configs / name[len(CONFIG_PREFIX):]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(wheel.read(name))
    (configs / ".complete").write_text("")
    return configs


def families(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.is_dir() and p.name != "_base_")


def family_configs(root: Path, family: str) -> list[Path]:
    return sorted(path for path in (root / family).rglob("*.py") if "_base_" not in path.relative_to(root).parts)


@dataclass
class Result:
    family: str
    config: str
    train: bool | None = False  # None: a config without a training part (tested only)
    test: bool = False
    seconds: float = 0.0
    error: str = ""


def _first_error_line(output: str) -> str:
    """mgx's ``error:`` line, else the exception line a traceback ends with, else the last line."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    chosen = next((line for line in lines if line.startswith("error:")), None)
    chosen = chosen or next((line for line in reversed(lines) if re.match(r"^[\w.]*(Error|Exception)\b", line)), None)
    if chosen and chosen.endswith(":") and lines.index(chosen) + 1 < len(lines):  # "N problems:" and the first
        chosen += " " + lines[lines.index(chosen) + 1]
    return chosen or (lines[-1] if lines else "(no output)")


def _mgx(args: list[str], cwd: Path, env: dict, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mgx.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def _last_checkpoint(work: Path) -> Path | None:
    pointer = work / "last_checkpoint"
    if pointer.is_file():
        named = Path(pointer.read_text().strip())
        named = named if named.is_absolute() else work / named
        if named.is_file():
            return named
    checkpoints = sorted(work.glob("iter_*.pth"), key=lambda p: int(p.stem.split("_")[1]))
    return checkpoints[-1] if checkpoints else (sorted(work.glob("epoch_*.pth")) or [None])[-1]


def run_trial(config: Path, root: Path, family: str, timeout: float, fast: bool, weights: Path,
              tiny: bool = False) -> Result:
    """Train 2 iterations and test the last checkpoint of ``config`` in a fresh folder under ``root``."""
    from mgx.benchmarks.zoo_data import NoWriter, Sizes, image_side, prepare_trial, smallest_input, tiny_options
    from mgx.core.config import load_config, to_plain

    result = Result(family, str(config.relative_to(config.parents[1])))
    start = time.perf_counter()
    folder = Path(tempfile.mkdtemp(prefix=f"{config.stem[:40]}-", dir=root))
    try:
        sizes = Sizes(crop=16, image=16, count=2) if fast else Sizes()
        cfg, widths = load_config(config), []
        sizes.image = max(sizes.image, smallest_input(to_plain(cfg)))
        if tiny:  # the layout kept, the channels cut: the config's own widths would take minutes per config
            sizes.image = image_side(to_plain(cfg), sizes.image)
            widths = tiny_options(to_plain(cfg), sizes.image)
            cfg = load_config(config, widths)
        trial = prepare_trial(cfg, folder, sizes, weights=weights)
        trial.options = widths + trial.options
        if str(cfg.get("load_from") or "").startswith(("http://", "https://")):
            # a published checkpoint to fine-tune (StyleGAN3's ADA configs): stood in for, as every download
            from mgx.benchmarks.zoo_data import stand_in_checkpoint

            saved = {key: os.environ.get(key) for key in trial.env}
            os.environ.update(trial.env)  # building the model may read stand-in weights (DeblurGANv2's backbone)
            try:
                trial.options.append(f"load_from={stand_in_checkpoint(config, trial.options, folder / 'load_from.pth')}")
            finally:
                for key, value in saved.items():
                    os.environ.pop(key) if value is None else os.environ.__setitem__(key, value)
    except NoWriter as exc:
        result.error = str(exc)
        return result
    except Exception as exc:  # a config mgx cannot even read is a result too
        result.error = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
        return result
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
    env.update(trial.env, MGX_OFFLINE="1", MGX_CACHE_DIR=str(folder / "cache"), OMP_NUM_THREADS=env.get(
        "OMP_NUM_THREADS", "1"))
    work = folder / "work"
    try:
        if trial.test_only and trial.pretrained:  # an inference-only diffusion config: `mgx run test CFG`
            result.train, checkpoint = None, None
        elif trial.test_only:  # MMagic's conversion configs: no training part, a published checkpoint to test
            from mgx.benchmarks.zoo_data import stand_in_checkpoint

            result.train, checkpoint = None, stand_in_checkpoint(config, trial.options, folder / "published.pth")
        else:
            trained = _mgx(["run", "train", str(config), "--no-track", "--work-dir", str(work), "--cfg-options",
                            *trial.options], folder, env, timeout)
            result.train = trained.returncode == 0
            checkpoint = _last_checkpoint(work) if result.train else None
            if not result.train or checkpoint is None:
                result.error = _first_error_line(trained.stderr) if not result.train else "no checkpoint written"
                return result
        left = max(timeout - (time.perf_counter() - start), 30)
        tested = _mgx(["run", "test", str(config), *([str(checkpoint)] if checkpoint else []), "--no-track",
                       "--work-dir", str(folder / "test"),
                       "--cfg-options", *trial.options], folder, env, left)
        result.test = tested.returncode == 0
        if not result.test:
            result.error = _first_error_line(tested.stderr)
    except subprocess.TimeoutExpired:
        result.error = f"timed out after {timeout:.0f} s"
    finally:
        result.seconds = round(time.perf_counter() - start, 1)
        # (the config is the row's first column: not repeated in its error)
        for where in (f"{config}: ", f"{config} ", f"{config}"):
            result.error = result.error.replace(where, "")
        result.error = result.error[:200]
    return result


TABLE_HEADER = "| config | train | test | s | first error line |\n|---|---|---|---|---|"


def table_row(r: Result) -> str:
    error = r.error.replace("|", "\\|")
    train = "n/a" if r.train is None else "ok" if r.train else "fail"
    return f"| {r.config} | {train} | {'ok' if r.test else 'fail'} | {r.seconds:.0f} | {error} |"


def summary_row(family: str, results: list[Result], command: str) -> str:
    passed = sum(r.train is not False and r.test for r in results)
    if not results:
        return f"| {family} | 0 | no config tried (--match/--limit) | `{command}` |"
    status = (f"trains+tests with data paths only ({passed}/{len(results)})" if passed == len(results)
              else f"{passed}/{len(results)} train+test")
    return f"| {family} | {len(results)} | {status} | `{command}` |"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", action="append", default=[], help="an MMagic config folder (repeatable)")
    parser.add_argument("--all", action="store_true", help="every family")
    parser.add_argument("--configs-dir", type=Path, help="MMagic's configs folder (default: the wheel's, cached)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per config (train + test)")
    parser.add_argument("--fast", action="store_true", help="smaller images and datasets (CI)")
    parser.add_argument("--tiny", action="store_true", help="tiny network widths where zoo_data/widths.py has them")
    parser.add_argument("--limit", type=int, help="at most this many configs per family")
    parser.add_argument("--match", help="only configs whose file name contains this")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    root = args.configs_dir or mmagic_configs()
    chosen = families(root) if args.all else args.family
    if not chosen:
        parser.error("give --family NAME (repeatable) or --all")
    unknown = [name for name in chosen if not (root / name).is_dir()]
    if unknown:
        parser.error(f"no such family under {root}: {', '.join(unknown)}")
    from mgx.core.plugins import PluginManager
    from mgx.plugins import DEFAULT_PLUGINS

    PluginManager(DEFAULT_PLUGINS).activate()  # stand-ins for pretrained parts are built by the plugins' networks
    summaries, everything = [], []
    with tempfile.TemporaryDirectory(prefix="mgx-zoo-") as scratch:
        weights = Path(scratch) / "weights"
        for family in chosen:
            configs = [p for p in family_configs(root, family) if not args.match or args.match in p.name][: args.limit]
            print(f"\n### {family}\n\n{TABLE_HEADER}", flush=True)
            results = []
            for path in configs:  # (each row as it comes: a family may take an hour)
                results.append(run_trial(path, Path(scratch), family, args.timeout, args.fast, weights, args.tiny))
                print(table_row(results[-1]), flush=True)
            everything += results
            command = f"python benchmarks/zoo_trials.py --family {family}" + (" --fast" if args.fast else "") + (
                " --tiny" if args.tiny else "")
            summaries.append(summary_row(family, results, command))
    print("\n| family | configs | status in mgx | checked with |\n|---|---|---|---|")
    print("\n".join(summaries))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in everything], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
