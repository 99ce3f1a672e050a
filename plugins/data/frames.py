"""``BasicFramesDataset``: video clips stored as one folder of frames per clip (REDS, Vimeo-90K, Vid4).

A sample is one clip (or one Vimeo-90K septuplet, or one REDS centre frame): the
dataset lists names and folders only; the frame-index transforms
(``GenerateSegmentIndices``, ...) turn them into frame paths and
``LoadImageFromFile`` reads those frames for that sample alone, so a loader
never holds more than the clips of the batches in flight.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

from mgx.core.errors import ConfigError

from .datasets_base import PipelineDataset
from .image_folders import read_ann_file


def _positive_or_none(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"BasicFramesDataset: {name} must be a positive int or None, got {value!r}")
    return value


class BasicFramesDataset(PipelineDataset):
    """Clips under ``data_root`` as MMagic's BasicFramesDataset lists them.

    ``data_prefix`` maps a field (``img``, ``gt``) to its sub-folder; clips are
    listed from ``ann_file`` (``calendar 41`` for Vid4, ``000/00000000.png (...)``
    for REDS, ``00001/0266 (...)`` for Vimeo-90K: the first ``depth`` path parts
    name a sample) or, without one, from the ``search_key`` folder, ``depth``
    folder levels deep. Each sample holds ``key`` (the clip's relative path),
    ``{field}_path`` (the field's folder), ``num_input_frames``,
    ``num_output_frames`` and ``sequence_length`` (``fixed_seq_len``, else the
    number of files in the clip's folder). A field in ``load_frames_list``
    (``dict(img=['im1.png', ...])``, or ``['all']``) instead gets the list of its
    frame files, as Vimeo-90K configs do; ``filename_tmpl`` maps a field to the
    template of those file names.

    ``max_seq_len`` (mgx's, for evaluating long clips in bounded memory, like the ``max_seq_len`` of
    MMagic's video inferencer): each whole clip becomes consecutive samples of at most that many frames
    (a last single frame joins the chunk before it), with ``frame_offset`` and ``clip_frames``, so the
    loader, the model, the metrics and the sample grid hold one chunk at a time; recurrent models then
    propagate within a chunk only (docs/models.md), and the video metrics still count each clip once.
    """

    METAINFO = dict(dataset_type="base_edit_dataset", task_name="editing")

    def __init__(self, ann_file: str = "", metainfo: dict | None = None, data_root: str | None = None,
                 data_prefix: dict | None = None, pipeline: Sequence[dict] | None = (), test_mode: bool = False,
                 filename_tmpl: dict | None = None, search_key: str | None = None, backend_args: dict | None = None,
                 depth: int = 1, num_input_frames: int | None = None, num_output_frames: int | None = None,
                 fixed_seq_len: int | None = None, load_frames_list: dict | None = None,
                 max_seq_len: int | None = None) -> None:
        if metainfo is not None and not isinstance(metainfo, dict):
            raise ConfigError(f"BasicFramesDataset: metainfo must be a dict, got {metainfo!r}")
        if backend_args is not None and dict(backend_args).get("backend", "local") != "local":
            raise ConfigError(f"BasicFramesDataset: only local files are supported; backend_args={backend_args!r}")
        data_prefix = dict(img="") if data_prefix is None else data_prefix
        if not (isinstance(data_prefix, dict) and data_prefix and all(
                isinstance(k, str) and isinstance(v, str) for k, v in data_prefix.items())):
            raise ConfigError(f"BasicFramesDataset: data_prefix must be a dict field -> sub-folder, "
                              f"got {data_prefix!r}")
        self.metainfo = {**self.METAINFO, **(metainfo or {})}
        self.data_root = Path(data_root).expanduser() if data_root else Path(".")
        self.test_mode = bool(test_mode)
        self.folders = {key: self.data_root / sub if sub else self.data_root for key, sub in data_prefix.items()}
        self.filename_tmpl = {key: "{}" for key in data_prefix}
        for key, template in dict(filename_tmpl or {}).items():
            if key not in data_prefix or not isinstance(template, str) or "{}" not in template:
                raise ConfigError(f"BasicFramesDataset: filename_tmpl[{key!r}]={template!r} must be a data_prefix "
                                  f"field's template containing '{{}}'")
            self.filename_tmpl[key] = template
        self.search_key = search_key or next(iter(data_prefix))
        if self.search_key not in data_prefix:
            raise ConfigError(f"BasicFramesDataset: search_key {self.search_key!r} is not a data_prefix field "
                              f"({sorted(data_prefix)})")
        self.depth = _positive_or_none(depth, "depth")
        self.num_input_frames = _positive_or_none(num_input_frames, "num_input_frames")
        self.num_output_frames = _positive_or_none(num_output_frames, "num_output_frames")
        self.fixed_seq_len = _positive_or_none(fixed_seq_len, "fixed_seq_len")
        self.load_frames_list = self._frames_lists(load_frames_list)
        self.max_seq_len = _positive_or_none(max_seq_len, "max_seq_len")
        if self.max_seq_len == 1:
            raise ConfigError("BasicFramesDataset: max_seq_len must be at least 2 (a one-frame chunk is an image, not "
                              "a clip), got 1")
        if self.max_seq_len is not None and (self.num_input_frames is not None or self.load_frames_list):
            raise ConfigError("BasicFramesDataset: max_seq_len cuts whole clips into chunks (evaluation); it does not "
                              "combine with num_input_frames or load_frames_list, which pick frames already")
        self.ann_file = None
        if ann_file:
            path = Path(ann_file).expanduser()
            self.ann_file = path if path.is_absolute() else self.data_root / path
        self.samples = self._scan()
        super().__init__(pipeline)

    def _frames_lists(self, value: Any) -> dict[str, list[str]]:
        lists = dict(value or {})
        for key, names in lists.items():
            if key not in self.folders:
                raise ConfigError(f"BasicFramesDataset: load_frames_list names {key!r}, which is not a data_prefix "
                                  f"field ({sorted(self.folders)})")
            if not (isinstance(names, (list, tuple)) and names and all(isinstance(n, str) for n in names)):
                raise ConfigError(f"BasicFramesDataset: load_frames_list[{key!r}] must be a list of file names "
                                  f"(or ['all']), got {names!r}")
        return {key: list(names) for key, names in lists.items()}

    def _search_folder(self) -> Path:
        folder = self.folders[self.search_key]
        if not folder.is_dir():
            raise ConfigError(f"BasicFramesDataset: data folder {str(folder)!r} (data_root + data_prefix."
                              f"{self.search_key}) does not exist: point data_root at your clips")
        return folder

    def _from_folder(self, folder: Path, depth: int) -> list[str]:
        names = []
        for entry in sorted(os.listdir(folder)):
            if depth > 1:
                if (folder / entry).is_dir():
                    names.extend(f"{entry}/{sub}" for sub in self._from_folder(folder / entry, depth - 1))
            else:
                names.append(os.path.splitext(entry)[0] if (folder / entry).is_file() else entry)
        return names

    def _from_ann(self) -> list[str]:
        names: list[str] = []
        for entry in read_ann_file(self.ann_file):
            parts = [p for p in entry.replace("\\", "/").split("/") if p]
            if self.depth > len(parts):  # the file names clips; samples sit deeper in each clip's folder
                folder = self._search_folder() / Path(*parts)
                names.extend("/".join(parts) + "/" + sub for sub in self._from_folder(folder, self.depth - len(parts)))
            else:
                name = "/".join(parts[:self.depth])
                if name not in names:
                    names.append(name)
        return names

    def _sequence_length(self, name: str, counted: dict[str, int]) -> int | None:
        if self.fixed_seq_len is not None:
            return self.fixed_seq_len
        clip = name.split("/")[0]
        if clip not in counted:
            folder = self._search_folder() / clip
            if not folder.is_dir():
                raise ConfigError(f"BasicFramesDataset: clip folder {str(folder)!r} does not exist "
                                  f"(listed by {self.ann_file or 'the search folder'})")
            counted[clip] = len(os.listdir(folder))
        return counted[clip]

    def _frame_paths(self, key: str, name: str) -> list[str]:
        folder = self.folders[key] / name
        names = self.load_frames_list[key]
        if "all" in names:
            if not folder.is_dir():
                raise ConfigError(f"BasicFramesDataset: frame folder {str(folder)!r} does not exist")
            names = os.listdir(folder)
        return [str(folder / self.filename_tmpl[key].format(n)) for n in sorted(names)]

    def _scan(self) -> list[dict]:
        self._search_folder()
        names = self._from_ann() if self.ann_file is not None else self._from_folder(self._search_folder(), self.depth)
        if not names:
            raise ConfigError(f"BasicFramesDataset: no clips listed from "
                              f"{str(self.ann_file) if self.ann_file else str(self._search_folder())!r}")
        counted: dict[str, int] = {}
        samples = []
        for name in names:
            sample: dict[str, Any] = dict(key=os.path.splitext(name)[0], num_input_frames=self.num_input_frames,
                                          num_output_frames=self.num_output_frames)
            sample["sequence_length"] = None if self.load_frames_list else self._sequence_length(name, counted)
            for key, folder in self.folders.items():
                if key in self.load_frames_list:
                    sample[f"{key}_path"] = self._frame_paths(key, name)
                    if key == "img":
                        sample["num_input_frames"] = len(sample[f"{key}_path"])
                    elif key == "gt":
                        sample["num_output_frames"] = len(sample[f"{key}_path"])
                else:
                    sample[f"{key}_path"] = str(folder)
            samples.extend(self._chunks(sample))
        return samples

    def _chunks(self, sample: dict) -> list[dict]:
        """The clip, or with ``max_seq_len`` its consecutive chunks of at most that many frames: each a sample
        with ``frame_offset`` (its first frame) and ``clip_frames`` (the clip's length, for per-clip metrics)."""
        length = sample["sequence_length"]
        if self.max_seq_len is None or length is None:
            return [sample]
        starts = list(range(0, length, self.max_seq_len))
        if len(starts) > 1 and length - starts[-1] == 1:
            starts.pop()  # a one-frame list packs as an image, not a clip: the last frame joins the chunk before
        ends = starts[1:] + [length]
        return [dict(sample, sequence_length=end - start, frame_offset=start, clip_frames=length)
                for start, end in zip(starts, ends)]

    def __len__(self) -> int:
        return len(self.samples)

    def raw_sample(self, idx: int) -> dict:
        sample = dict(self.samples[idx])
        for key, value in sample.items():
            if isinstance(value, list):
                sample[key] = list(value)
        return sample
