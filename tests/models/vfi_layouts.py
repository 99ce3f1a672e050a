"""Small synthetic Vimeo-90K interpolation sets in MMagic's layouts, under ``root/data`` as the frame
interpolation configs' relative data roots expect: triplets (``vimeo_triplet/sequences/SEQ/im1..3.png``
with ``tri_trainlist.txt``/``tri_testlist.txt``) and septuplets (``vimeo90k/GT/SEQ/im1..7.png`` with
``txt/sep_trainlist.txt``/``txt/sep_testlist.txt``). Frames are crops of one smooth image moving a
pixel per frame, so the frame in between is the halfway crop."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

SEQUENCES = ("00001/0001", "00002/0003")


def _moving(rng: np.random.Generator, count: int, size: int) -> list[np.ndarray]:
    coarse = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    canvas = np.asarray(Image.fromarray(coarse).resize((size + count, size + count), Image.Resampling.BICUBIC))
    return [canvas[i:i + size, i:i + size].copy() for i in range(count)]


def _write(root: Path, frames: int, size: int) -> None:
    rng = np.random.default_rng(0)
    for seq in SEQUENCES:
        root.joinpath(seq).mkdir(parents=True, exist_ok=True)
        for index, frame in enumerate(_moving(rng, frames, size), start=1):
            Image.fromarray(frame).save(root / seq / f"im{index}.png")


def write_vfi_layouts(root: Path, size: int = 32) -> None:
    """data/vimeo_triplet and data/vimeo90k (septuplets) with two sequences each."""
    data = root / "data"
    _write(data / "vimeo_triplet" / "sequences", 3, size)
    listing = "".join(f"{seq}\n" for seq in SEQUENCES)
    for name in ("tri_trainlist.txt", "tri_testlist.txt"):
        (data / "vimeo_triplet" / name).write_text(listing)
    _write(data / "vimeo90k" / "GT", 7, size)
    (data / "vimeo90k" / "txt").mkdir(parents=True, exist_ok=True)
    for name in ("sep_trainlist.txt", "sep_testlist.txt"):
        (data / "vimeo90k" / "txt" / name).write_text(listing)
