"""The one-shot GPU check: what a session lent a GPU runs (``bash benchmarks/gpu_check.sh``), in one table.

Rows (each: status ok / FAIL / skip with the reason, a value, peak GPU memory):
  amp fp16 + GradScaler and bf16 steps of StyleGAN2 64 px and EDSR x4 (the scale backs off from an
  overflowing start and the overflowing step is not applied; no parameter becomes inf/nan);
  ``torchrun --nproc-per-node 1`` training a tiny DCGAN over NCCL; pinned vs pageable host->device
  copies; step times eager vs ``compile`` vs ``channels_last`` for StyleGAN2 256 px (batch 4, MMagic's
  stylegan2_c2_8xb4) and EDSR x4 c64b16 (batch 16, 48 px inputs, MMagic's edsr_x4c64b16_1xb16);
  Inception (pytorch-fid architecture, random weights) feature extraction images/s; KID on the GPU
  against the CPU float64 value; FSDP2 (``model_wrapper_cfg=dict(type='FSDP')``) on 2 GPUs over NCCL
  with its DCP checkpoint resumed in 1 process (needs 2 GPUs: NCCL puts one rank on one device; the
  same path on CPU/gloo is tests/launchers/test_fsdp_dist.py).

On a machine without CUDA the GPU rows are skipped, saying why, and the CPU-meaningful rows run at
small sizes (StyleGAN2 32 px, EDSR 64 px output). ``--quick`` shrinks everything further (the test
runs it). Exit status 1 when any row failed.

    python benchmarks/gpu_check.py [--quick] [--compile-backend inductor] [--steps 10]
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import torch

GPU = torch.cuda.is_available()
DEVICE = torch.device("cuda" if GPU else "cpu")
NO_GPU = "no CUDA device on this machine"


class Skip(Exception):
    """A row that cannot run here; the message says why."""


@dataclass
class Row:
    case: str
    status: str
    value: str
    peak: str


def peak_memory() -> str:
    return f"{torch.cuda.max_memory_allocated() / 2**20:.0f} MiB" if GPU else "-"


def run_case(rows: list[Row], case: str, fn) -> None:
    if GPU:
        torch.cuda.reset_peak_memory_stats()
    try:
        value = fn()
        rows.append(Row(case, "ok", value, peak_memory()))
    except Skip as reason:
        rows.append(Row(case, "skip", str(reason), "-"))
    except Exception as exc:  # the table reports every failure; the exit status says one happened
        traceback.print_exc(file=sys.stderr)
        rows.append(Row(case, "FAIL", f"{type(exc).__name__}: {exc}"[:150], peak_memory()))


# -- models at MMagic's settings (or small ones on a CPU) ------------------------------------------

def stylegan2(size: int, quick: bool):
    from mgx.core.registry import build

    width = dict(style_channels=16, num_mlps=2, channel_max=16) if quick else dict(style_channels=512)
    return build(dict(type="StyleGAN2", generator=dict(type="StyleGANv2Generator", out_size=size, **width),
                      discriminator=dict(type="StyleGAN2Discriminator", in_size=size,
                                         **({"channel_max": 16} if quick else {})),
                      loss_config=dict(r1_interval=16, g_reg_interval=4, pl_batch_shrink=2)), "model")


def edsr(quick: bool):
    from mgx.core.registry import build

    width = dict(mid_channels=8, num_blocks=2) if quick else dict(mid_channels=64, num_blocks=16)
    return build(dict(type="BaseEditModel", pixel_loss=dict(type="L1Loss"),
                      generator=dict(type="EDSRNet", in_channels=3, out_channels=3, upscale_factor=4, **width),
                      data_preprocessor=dict(type="DataPreprocessor", mean=[0.] * 3, std=[255.] * 3)), "model")


def batch_for(kind: str, size: int, batch: int) -> dict:
    generator = torch.Generator().manual_seed(0)
    if kind == "stylegan2":
        return {"inputs": torch.randint(0, 256, (batch, 3, size, size), generator=generator, dtype=torch.uint8)}
    return {"lq_img": torch.randint(0, 256, (batch, 3, size // 4, size // 4), generator=generator).float(),
            "gt_img": torch.randint(0, 256, (batch, 3, size, size), generator=generator).float()}


def make(kind: str, size: int, quick: bool):
    return stylegan2(size, quick) if kind == "stylegan2" else edsr(quick)


def optim_for(model, kind: str, amp: bool = False, **wrapper):
    from mgx.core.engine.optim import build_optim_wrappers

    one = dict(optimizer=dict(type="Adam", lr=1e-4, betas=(0.0, 0.99)), **wrapper)
    cfg = dict(generator=dict(one), discriminator=dict(one)) if kind == "stylegan2" else one
    return build_optim_wrappers(cfg, model, device=DEVICE, amp=amp)


# -- rows ----------------------------------------------------------------------------------------

def amp_row(kind: str, size: int, batch: int, dtype: str, quick: bool) -> str:
    if not GPU:
        raise Skip(f"{NO_GPU} (autocast {dtype} and GradScaler need CUDA here)")
    torch.manual_seed(0)
    model = make(kind, size, quick).to(DEVICE)
    scale = dict(loss_scale=dict(init_scale=2.0 ** 40)) if dtype == "float16" else {}  # overflows at once
    optim = optim_for(model, kind, amp=True, dtype=dtype, **scale)
    data = batch_for(kind, size, batch)
    first = {name: p.detach().clone() for name, p in model.named_parameters()}
    losses = [model.train_step({k: v.to(DEVICE) for k, v in data.items()}, optim) for _ in range(3)]
    if not all(torch.isfinite(p).all() for p in model.parameters()):
        raise AssertionError("a parameter became inf/nan: an overflowing step was applied")
    if dtype == "float16":
        scales = {name: wrapper.scaler.get_scale() for name, wrapper in optim.items()}
        if not all(value < 2.0 ** 40 for value in scales.values()):
            raise AssertionError(f"the GradScaler never backed off from 2^40: {scales}")
        return "scale 2^40 -> " + ", ".join(f"{n} 2^{torch.tensor(v).log2().item():.0f}" for n, v in scales.items())
    changed = sum(not torch.equal(first[name], p) for name, p in model.named_parameters())
    if not changed:
        raise AssertionError("bf16 steps changed no parameter")
    return f"3 steps, losses {', '.join(f'{k}={float(v):.3g}' for k, v in losses[-1].items())}"


def step_time_ms(kind: str, size: int, batch: int, steps: int, quick: bool, mode: str, backend: str) -> float:
    from mgx.core.config.loader import Config
    from mgx.core.engine.speed import accelerate
    import logging

    torch.manual_seed(0)
    model = make(kind, size, quick).to(DEVICE)
    cfg = Config({"compile": dict(backend=backend) if mode == "compile" else False,
                  "channels_last": mode == "channels_last"}, filename="gpu_check")
    acceleration = accelerate(model, None, cfg, logging.getLogger("gpu_check"))
    optim = optim_for(model, kind)
    data = batch_for(kind, size, batch)
    from mgx.core.engine.data import to_device

    batch_on_device = to_device(data, DEVICE, memory_format=acceleration.memory_format)
    times = []
    for step in range(steps + 2):  # two warm-up steps (the first compiles)
        started = time.perf_counter()
        model.train_step(batch_on_device, optim)
        if GPU:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times[2:])


def step_rows(rows: list[Row], kind: str, size: int, batch: int, args) -> None:
    eager: list[float] = []
    for mode in ("eager", "compile", "channels_last"):
        def case(mode=mode) -> str:
            if mode == "compile" and args.no_compile:
                raise Skip("--no-compile")
            ms = step_time_ms(kind, size, batch, args.steps, args.quick, mode, args.compile_backend)
            if mode == "eager":
                eager.append(ms)
                return f"{ms:.1f} ms/step"
            return f"{ms:.1f} ms/step, {ms / eager[0]:.2f} x eager" if eager else f"{ms:.1f} ms/step"
        label = f"compile({args.compile_backend})" if mode == "compile" else mode
        run_case(rows, f"{kind} {size}px b{batch} {label} ({DEVICE.type})", case)


def torchrun_row(quick: bool) -> str:
    if not GPU:
        raise Skip(f"{NO_GPU} (NCCL needs CUDA)")
    folder = Path(tempfile.mkdtemp(prefix="mgx-gpu-check-"))
    config = folder / "tiny_dcgan.py"
    config.write_text(TINY_DCGAN)
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "1", "-m", "mgx.cli", "run",
               "train", str(config), "--work-dir", str(folder / "work"), "--no-track"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=240, cwd=folder)
    if done.returncode != 0:
        raise AssertionError(f"exit {done.returncode}: {done.stderr[-300:]}")
    if not (folder / "work" / "iter_4.pth").exists():
        raise AssertionError("no iter_4.pth after 4 iterations")
    return "4 iterations of a tiny DCGAN, backend nccl"


TINY_DCGAN = """
model = dict(type='DCGAN', latent_dim=8, image_size=16, channels=3, base_channels=8)
train_dataloader = dict(batch_size=8, dataset=dict(type='DigitsDataset', image_size=16, split='train',
                        pipeline=[dict(type='PackInputs')]), sampler=dict(type='InfiniteSampler', shuffle=True))
optim_wrapper = dict(generator=dict(optimizer=dict(type='Adam', lr=1e-3)),
                     discriminator=dict(optimizer=dict(type='Adam', lr=1e-3)))
train_cfg = dict(by_epoch=False, max_iters=4)
default_hooks = dict(checkpoint=dict(interval=4))
env_cfg = dict(dist_cfg=dict(backend='nccl'))
"""


def fsdp_row(quick: bool) -> str:
    if not GPU or torch.cuda.device_count() < 2:
        raise Skip(f"{NO_GPU if not GPU else 'one CUDA device'}: FSDP2 over NCCL needs 2 GPUs "
                   f"(CPU/gloo: tests/launchers/test_fsdp_dist.py)")
    folder = Path(tempfile.mkdtemp(prefix="mgx-gpu-check-"))
    config = folder / "tiny_edsr_fsdp.py"
    config.write_text(TINY_EDSR_FSDP)
    train = [sys.executable, "-m", "mgx.cli", "run", "train", str(config), "--no-track"]
    done = subprocess.run([*train, "--work-dir", str(folder / "two"), "--launcher", "dist", "--gpus", "2"],
                          capture_output=True, text=True, timeout=240, cwd=folder)
    if done.returncode != 0 or not (folder / "two" / "iter_2.dcp" / ".metadata").is_file():
        raise AssertionError(f"2 ranks: exit {done.returncode}, no iter_2.dcp? {done.stderr[-300:]}")
    resumed = subprocess.run([*train, "--work-dir", str(folder / "two"), "--resume", str(folder / "two" / "iter_2.pth"),
                              "--cfg-options", "train_cfg.max_iters=6", "train_dataloader.batch_size=8"],
                             capture_output=True, text=True, timeout=240, cwd=folder)
    if resumed.returncode != 0 or not (folder / "two" / "iter_6.pth").is_file():
        raise AssertionError(f"resumed in 1 process: exit {resumed.returncode}: {resumed.stderr[-300:]}")
    return "4 iterations on 2 GPUs (nccl), DCP iter_2 resumed in 1 process to 6"


TINY_EDSR_FSDP = """
model = dict(type='BaseEditModel', generator=dict(type='EDSRNet', in_channels=3, out_channels=3, mid_channels=16,
             num_blocks=2, upscale_factor=2), pixel_loss=dict(type='L1Loss'),
             data_preprocessor=dict(type='DataPreprocessor', mean=[0., 0., 0.], std=[255., 255., 255.]))
train_dataloader = dict(batch_size=4, sampler=dict(type='InfiniteSampler', shuffle=True), dataset=dict(
    type='PairedDigitsDataset', scale=2, gt_size=32, split='train', pipeline=[dict(type='PackInputs')]))
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-4))
train_cfg = dict(by_epoch=False, max_iters=4)
default_hooks = dict(checkpoint=dict(interval=2))
model_wrapper_cfg = dict(type='FSDP')
env_cfg = dict(dist_cfg=dict(backend='nccl'))
"""


def pinned_row(quick: bool) -> str:
    if not GPU:
        raise Skip(f"{NO_GPU} (no host->device copy to time)")
    size = (64 if quick else 256) * 2**20 // 4
    pageable, pinned = torch.empty(size), torch.empty(size).pin_memory()
    speeds = {}
    for name, host in (("pageable", pageable), ("pinned", pinned)):
        host.to(DEVICE, non_blocking=True)
        torch.cuda.synchronize()
        started = time.perf_counter()
        for _ in range(5):
            host.to(DEVICE, non_blocking=True)
        torch.cuda.synchronize()
        speeds[name] = 5 * host.numel() * 4 / (time.perf_counter() - started) / 1e9
    if speeds["pinned"] < speeds["pageable"]:
        raise AssertionError(f"pinned copies slower than pageable: {speeds}")
    return f"pinned {speeds['pinned']:.1f} GB/s, pageable {speeds['pageable']:.1f} GB/s"


def inception_row(quick: bool) -> str:
    from mgx.plugins.feature_extractors.inception_pytorch import FIDInceptionV3

    net = FIDInceptionV3(load_weights=False).to(DEVICE)
    batch, rounds = (2, 1) if quick else ((64, 10) if GPU else (8, 2))
    images = torch.randint(0, 256, (batch, 3, 256, 256), device=DEVICE).float()
    with torch.no_grad():
        features = net.pool_features(images)  # warm-up
        if GPU:
            torch.cuda.synchronize()
        started = time.perf_counter()
        for _ in range(rounds):
            features = net.pool_features(images)
        if GPU:
            torch.cuda.synchronize()
    if features.shape != (batch, 2048) or not torch.isfinite(features).all():
        raise AssertionError(f"features of shape {tuple(features.shape)} or not finite")
    return f"{batch * rounds / (time.perf_counter() - started):.1f} images/s (256 px input, batch {batch})"


def kid_row(quick: bool) -> str:
    if not GPU:
        raise Skip(f"{NO_GPU} (the CPU path is what the metric tests cover)")
    from mgx.plugins.metrics.functional.kid import kid_from_features

    count, dim = (200, 64) if quick else (2000, 2048)
    generator = torch.Generator().manual_seed(0)
    real = torch.randn(count, dim, generator=generator, dtype=torch.float64)
    fake = real[:, :] * 1.1 + 0.1
    on_cpu = kid_from_features(real, fake, subsets=10, subset_size=count // 2,
                               generator=torch.Generator().manual_seed(1))
    started = time.perf_counter()
    on_gpu = kid_from_features(real.to(DEVICE).float(), fake.to(DEVICE).float(), subsets=10,
                               subset_size=count // 2, generator=torch.Generator().manual_seed(1))
    seconds = time.perf_counter() - started
    if abs(on_gpu[0] - on_cpu[0]) > 1e-3 * max(abs(on_cpu[0]), 1e-6):
        raise AssertionError(f"KID on the GPU {on_gpu[0]} vs CPU float64 {on_cpu[0]}")
    return f"KID {on_gpu[0]:.5f} (CPU float64 {on_cpu[0]:.5f}) in {seconds:.2f} s"


def print_table(rows: list[Row]) -> None:
    widths = [max(len(getattr(row, name)) for row in rows + [Row("case", "status", "value", "peak GPU mem")])
              for name in ("case", "status", "value", "peak")]
    header = Row("case", "status", "value", "peak GPU mem")
    for row in [header] + rows:
        print("  ".join(getattr(row, name).ljust(width) for name, width in zip(("case", "status", "value", "peak"),
                                                                                   widths)).rstrip())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (the CPU test)")
    parser.add_argument("--steps", type=int, default=10, help="timed steps per step-time row")
    parser.add_argument("--compile-backend", default="inductor")
    parser.add_argument("--no-compile", action="store_true", help="skip the compile rows")
    args = parser.parse_args()
    from mgx.core.plugins import PluginManager
    from mgx.plugins import DEFAULT_PLUGINS

    PluginManager(DEFAULT_PLUGINS).activate()
    rows: list[Row] = []
    print(f"torch {torch.__version__}, device {torch.cuda.get_device_name() if GPU else 'cpu'}", flush=True)
    for kind, size, batch in (("stylegan2", 64, 4), ("edsr", 192, 16)):
        for dtype in ("float16", "bfloat16"):
            run_case(rows, f"{kind} {size}px amp {dtype}", lambda k=kind, s=size, b=batch, d=dtype:
                     amp_row(k, s, b, d, args.quick))
    run_case(rows, "torchrun --nproc-per-node 1 (nccl)", lambda: torchrun_row(args.quick))
    run_case(rows, "pinned-memory host->device copies", lambda: pinned_row(args.quick))
    if GPU and not args.quick:
        step_sets = (("stylegan2", 256, 4), ("edsr", 192, 16))
    else:  # the CPU sizes of docs/performance.md; --quick: tiny widths too
        step_sets = (("stylegan2", 32, 2 if args.quick else 4), ("edsr", 64, 2 if args.quick else 16))
    for kind, size, batch in step_sets:
        step_rows(rows, kind, size, batch, args)
    run_case(rows, f"Inception (pytorch-fid arch) features ({DEVICE.type})", lambda: inception_row(args.quick))
    run_case(rows, "KID on the GPU", lambda: kid_row(args.quick))
    run_case(rows, "FSDP2 2 GPUs (nccl), DCP resumed in 1", lambda: fsdp_row(args.quick))
    print_table(rows)
    failed = [row.case for row in rows if row.status == "FAIL"]
    print(f"{len(rows)} rows: {len(failed)} failed, {sum(row.status == 'skip' for row in rows)} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
