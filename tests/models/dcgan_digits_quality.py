"""Manual quality check (not collected by pytest): train DCGAN on digits, save a sample grid.

    python tests/models/dcgan_digits_quality.py --iters 1000 --base-channels 32 --out /tmp/dcgan_digits.png

Prints losses and seconds per 100 iterations; look at the PNG to judge the digits.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from PIL import Image

from mgx.core.engine.optim import build_optim_wrappers
from mgx.core.plugins import PluginManager
from mgx.core.registry import build


def save_grid(images: torch.Tensor, path: str, columns: int = 8) -> None:
    images = ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    rows = [np.concatenate(list(images[i:i + columns]), axis=1) for i in range(0, len(images), columns)]
    Image.fromarray(np.concatenate(rows, axis=0)).resize((columns * 64, len(rows) * 64), Image.NEAREST).save(path)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--iters", type=int, default=1000)
    parser.add_argument("--base-channels", type=int, default=32)
    parser.add_argument("--latent-dim", type=int, default=100)
    parser.add_argument("--loss", default="bce")
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="/tmp/dcgan_digits.png")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    PluginManager(["mgx.plugins.data", "mgx.plugins.models"]).activate()
    dataset = build(dict(type="DigitsDataset", split="train", pipeline=[dict(type="PackInputs")]), "dataset")
    sampler = build(dict(type="InfiniteSampler"), "sampler", dataset=dataset, seed=args.seed)
    loader = torch.utils.data.DataLoader(dataset, batch_size=args.batch_size, sampler=sampler, drop_last=True)
    model = build(dict(type="DCGAN", base_channels=args.base_channels, latent_dim=args.latent_dim, loss=args.loss),
                  "model")
    adam = dict(optimizer=dict(type="Adam", lr=args.lr, betas=(0.5, 0.999)))
    optim = build_optim_wrappers(dict(generator=adam, discriminator=adam), model, device=torch.device("cpu"),
                                 amp=False)
    fixed_noise = torch.randn(64, args.latent_dim, generator=torch.Generator().manual_seed(1))
    start = last = time.perf_counter()
    cpu_start = time.process_time()
    sums: dict[str, float] = {}
    for iteration, batch in zip(range(1, args.iters + 1), loader):
        for key, value in model.train_step(batch, optim).items():
            sums[key] = sums.get(key, 0.0) + float(value)
        if iteration % 100 == 0:
            now = time.perf_counter()
            means = "  ".join(f"{k}={v / 100:.3f}" for k, v in sums.items())
            print(f"iter {iteration:5d}  {means}  {now - last:.1f}s/100it", flush=True)
            sums, last = {}, now
    total = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    model.eval()
    save_grid(model.sample(noise=fixed_noise), args.out)
    print(f"{args.iters} iterations in {total:.1f}s wall ({total / args.iters * 1000:.1f} ms/it), "
          f"{cpu:.1f}s CPU ({cpu / args.iters * 1000:.1f} ms/it over {args.threads} thread(s)); grid -> {args.out}")


if __name__ == "__main__":
    main()
