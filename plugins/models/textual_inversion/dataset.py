"""MMagic's ``TextualInversionDataset(data_root, concept_dir, placeholder, template, with_image_reference=False,
pipeline)``: every image of ``data_root/concept_dir`` (sorted), each with a prompt made from a random
line of the ``template`` file (``'a photo of a {}'``) filled with ``placeholder``. The line is drawn
from the global numpy random state, which the engine seeds (per DataLoader worker), as MMagic draws
from Python's."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from mgx.core.errors import ConfigError
from mgx.core.registry import build_list

from ..dreambooth.dataset import concept_images


def read_templates(template: str) -> list[str]:
    path = Path(template).expanduser()
    if not path.is_file():
        raise ConfigError(f"TextualInversionDataset: template file {template!r} does not exist (relative paths "
                          f"are from the working directory); write one prompt per line, e.g. 'a photo of a {{}}'")
    lines = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    bad = [line for line in lines if "{}" not in line]
    if not lines or bad:
        raise ConfigError(f"TextualInversionDataset: every line of {template} must hold '{{}}' (where the "
                          f"placeholder goes); {'the file is empty' if not lines else f'not in {bad[0]!r}'}")
    return lines


class TextualInversionDataset:
    def __init__(self, data_root: str, concept_dir: str, placeholder: str, template: str,
                 with_image_reference: bool = False, pipeline: Sequence[dict] | None = ()) -> None:
        if not isinstance(placeholder, str) or not placeholder:
            raise ConfigError(f"TextualInversionDataset: placeholder must be a non-empty string, got {placeholder!r}")
        self.paths = concept_images(data_root, concept_dir, "TextualInversionDataset")
        self.placeholder, self.templates = placeholder, read_templates(template)
        self.with_image_reference = bool(with_image_reference)
        self.pipeline = build_list(list(pipeline or []), "transform")

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, idx: int) -> dict:
        index = int(idx) % len(self)
        prompt = self.templates[np.random.randint(len(self.templates))].format(self.placeholder)
        sample: dict[str, Any] = dict(img_path=str(self.paths[index]), prompt=prompt, sample_idx=index)
        if self.with_image_reference:  # ViCo: another image of the concept as the reference
            others = [path for number, path in enumerate(self.paths) if number != index] or self.paths
            sample["img_ref_path"] = str(others[np.random.randint(len(others))])
        for transform in self.pipeline:
            sample = transform(sample)
        return sample
