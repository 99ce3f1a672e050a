"""MMagic's ``DreamBoothDataset(data_root, concept_dir, prompt, pipeline)``: every image file of
``data_root/concept_dir`` (sorted), each sample ``dict(img_path=..., prompt=prompt)``."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from mgx.core.errors import ConfigError
from mgx.core.registry import build_list

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")


def concept_images(data_root: str, concept_dir: str, owner: str) -> list[Path]:
    """The image files of ``data_root/concept_dir``, sorted (a ConfigError when there are none)."""
    folder = Path(data_root).expanduser() / concept_dir
    if not folder.is_dir():
        raise ConfigError(f"{owner}: concept folder {folder} (data_root={data_root!r}, concept_dir="
                          f"{concept_dir!r}) does not exist; put the concept's images there")
    paths = sorted(path for path in folder.iterdir() if path.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise ConfigError(f"{owner}: no images ({', '.join(IMAGE_SUFFIXES)}) in {folder}")
    return paths


class DreamBoothDataset:
    def __init__(self, data_root: str, concept_dir: str, prompt: str, pipeline: Sequence[dict] | None = ()) -> None:
        if not isinstance(prompt, str) or not prompt:
            raise ConfigError(f"DreamBoothDataset: prompt must be a non-empty string, got {prompt!r}")
        self.paths = concept_images(data_root, concept_dir, "DreamBoothDataset")
        self.prompt = prompt
        self.pipeline = build_list(list(pipeline or []), "transform")

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, idx: int) -> dict:
        sample: dict[str, Any] = dict(img_path=str(self.paths[int(idx) % len(self)]), prompt=self.prompt,
                                      sample_idx=int(idx) % len(self))
        for transform in self.pipeline:
            sample = transform(sample)
        return sample

    def get_batch(self, indices: Sequence[int]) -> dict:
        from mgx.core.engine.collate import collate

        return collate([self[index] for index in indices])
