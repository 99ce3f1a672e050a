"""MMagic's ``ControlNetDataset(ann_file='prompt.json', data_root='./data/fill50k', control_key='source',
image_key='target', pipeline)``: ``data_root/ann_file`` holds one JSON object per line (ControlNet's
fill50k layout: ``{"source": "source/0.png", "target": "target/0.png", "prompt": "..."}``); each sample
is ``dict(source_path=..., target_path=..., prompt=...)`` with the paths under ``data_root``."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from mgx.core.errors import ConfigError
from mgx.core.registry import build_list


def read_annotations(path: Path, control_key: str, image_key: str) -> list[dict]:
    if not path.is_file():
        raise ConfigError(f"ControlNetDataset: annotation file {path} does not exist; write one JSON object per line "
                          f"with '{control_key}', '{image_key}' and 'prompt'")
    records = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"ControlNetDataset: {path}:{number} is not JSON ({exc.msg})") from None
        missing = [key for key in (control_key, image_key, "prompt") if key not in record]
        if missing:
            raise ConfigError(f"ControlNetDataset: {path}:{number} has no {missing} (keys: {sorted(record)})")
        records.append(record)
    if not records:
        raise ConfigError(f"ControlNetDataset: {path} holds no annotations")
    return records


class ControlNetDataset:
    def __init__(self, ann_file: str = "prompt.json", data_root: str = "./data/fill50k", control_key: str = "source",
                 image_key: str = "target", pipeline: Sequence[dict] | None = ()) -> None:
        root = Path(data_root).expanduser()
        records = read_annotations(root / ann_file, control_key, image_key)
        self.samples = [dict(source_path=str(root / record[control_key]), target_path=str(root / record[image_key]),
                             prompt=str(record["prompt"])) for record in records]
        self.pipeline = build_list(list(pipeline or []), "transform")

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, idx: int) -> dict:
        index = int(idx) % len(self)
        sample: dict[str, Any] = dict(self.samples[index], sample_idx=index)
        for transform in self.pipeline:
            sample = transform(sample)
        return sample
