"""Two gloo processes give the same CLIP score and FID of a generated set as one process: a tiny
Stable Diffusion generates one image per prompt (seeded by the prompt's index, so the set does not
depend on how it is sharded)."""
from __future__ import annotations

import json
import socket

import pytest
import torch.multiprocessing as mp

pytest.importorskip("diffusers")

import diffusion_metric_worker  # noqa: E402
from mgx.benchmarks.zoo_data.diffusion import build_tiny_clip, build_tiny_pipeline  # noqa: E402


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.timeout(300)
def test_two_gloo_processes_score_the_generated_set_as_one(tmp_path):
    pipeline, clip = str(build_tiny_pipeline(tmp_path / "sd")), str(build_tiny_clip(tmp_path / "clip"))
    single = diffusion_metric_worker.evaluate_shard(str(tmp_path / "single"), pipeline, clip)
    # forked, not spawned: the workers inherit torch, diffusers and transformers already imported (a spawned
    # worker spends most of its time importing them again)
    mp.start_processes(diffusion_metric_worker.worker, args=(2, _free_port(), str(tmp_path), pipeline, clip), nprocs=2,
                       join=True, start_method="fork")
    ranks = [json.loads((tmp_path / f"rank{rank}.json").read_text()) for rank in range(2)]
    assert ranks[0] == ranks[1], "every rank must report the same values"
    assert set(single) == {"CLIPScore/clip_score", "FID/fid", "FID/mean", "FID/cov"}
    for key, value in single.items():
        # the same images (seeded per prompt); float32 features differ in the last bits with the batch cut
        assert ranks[0][key] == pytest.approx(value, rel=1e-5, abs=1e-6), key
