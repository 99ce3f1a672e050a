"""Worker of the 2-process diffusion metric test: a tiny Stable Diffusion generates one image per
prompt of this rank's shard (seeded by the sample index, as ``val_step`` does), scored by CLIPScore
and TransFID against the shard's real images."""
from __future__ import annotations

import json
import os
from pathlib import Path

import torch
import torch.distributed as dist

from metric_test_nets import make_context, real_images  # noqa: E402
from mgx.core.distributed import shard_indices  # noqa: E402

PROMPTS = ["a photo of sks digit", "a 7", "zero", "one two", "a cat", "digit 3", "eight", "nine"]


def _plugins():
    from mgx.core.plugins import PluginManager

    return PluginManager(default_plugins=["mgx.plugins.metrics", "mgx.plugins.feature_extractors", "mgx.plugins.data",
                                          "mgx.plugins.models", "mgx.plugins.diffusion", "metric_test_nets"]).activate()


def evaluate_shard(tmp: str, pipeline: str, clip: str) -> dict:
    from mgx.core.evaluation import Evaluator
    from mgx.core.registry import build

    _plugins()
    parts = dict(vae=dict(type="AutoencoderKL", from_pretrained=pipeline, subfolder="vae"),
                 unet=dict(type="UNet2DConditionModel", from_pretrained=pipeline, subfolder="unet"),
                 text_encoder=dict(type="ClipWrapper", pretrained_model_name_or_path=pipeline, subfolder="text_encoder"),
                 tokenizer=pipeline, scheduler=dict(type="DDPMScheduler", from_pretrained=pipeline, subfolder="scheduler"))
    model = build(dict(type="StableDiffusion", num_inference_steps=2, **parts), "model").eval()
    reals = real_images(len(PROMPTS), size=16)
    indices = list(shard_indices(len(PROMPTS)))
    loader = [{"gt_img": reals[indices[start:start + 3]], "prompt": [PROMPTS[i] for i in indices[start:start + 3]],
               "sample_idx": torch.tensor(indices[start:start + 3])} for start in range(0, len(indices), 3)]
    evaluator = Evaluator([dict(type="CLIPScore", clip_model=clip),
                           dict(type="TransFID", prefix="FID", fake_nums=len(PROMPTS), real_key="gt_img",
                                feature_extractor=dict(type="TinyFeatures"))])
    return evaluator.evaluate(make_context(model, Path(tmp)), loader, model.val_step, lambda batch: batch)


def worker(rank: int, world: int, port: int, out_dir: str, pipeline: str, clip: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world, init_method=f"tcp://127.0.0.1:{port}")
    try:
        results = evaluate_shard(os.path.join(out_dir, f"rank{rank}"), pipeline, clip)
        with open(os.path.join(out_dir, f"rank{rank}.json"), "w") as handle:
            json.dump(results, handle)
    finally:
        dist.destroy_process_group()
