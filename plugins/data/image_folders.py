"""``BasicImageDataset``: image files listed from a folder or from MMagic's meta-info (``ann_file``) file."""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Sequence

from mgx.core.errors import ConfigError

from .datasets_base import PipelineDataset

DEFAULT_IMG_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm")


def _suffixes(img_suffix: Any) -> tuple[str, ...]:
    items = (img_suffix,) if isinstance(img_suffix, str) else tuple(img_suffix or ())
    if not items or not all(isinstance(s, str) and s for s in items):
        raise ConfigError(f"BasicImageDataset: img_suffix must be a suffix or a list of them, got {img_suffix!r}")
    return tuple(dict.fromkeys((s if s.startswith(".") else "." + s).lower() for s in items))


def read_ann_file(path: Path) -> list[str]:
    """MMagic's meta-info format: one image per line, its path relative to the search folder first
    (``0001_s001.png (480,480,3)``: anything after the first space is ignored); blank lines skipped."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise ConfigError(f"BasicImageDataset: ann_file {str(path)!r} does not exist (a relative ann_file is "
                          "read under data_root)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"BasicImageDataset: cannot read ann_file {str(path)!r}: {exc}") from None
    names = [line.split(" ")[0] for line in lines if line.strip()]
    if not names:
        raise ConfigError(f"BasicImageDataset: ann_file {str(path)!r} lists no images")
    return names


class BasicImageDataset(PipelineDataset):
    """Images (or aligned image pairs) under ``data_root``, as MMagic's BasicImageDataset lists them.

    ``data_prefix`` maps a field to a sub-folder (``None``: ``dict(img='')``);
    the first field (or ``search_key``) is listed — from ``ann_file`` when one
    is given, else from its folder (recursively unless ``recursive=False``,
    sorted, ``img_suffix`` matched case-insensitively). ``filename_tmpl`` maps
    a field to the template of its file names (``dict(img='{}_x4')``: LR file
    ``0001_x4.png`` for GT ``0001.png``; default ``'{}'``). Each sample holds
    ``key`` (the name without template or suffix) and ``{field}_path`` per
    field; a partner file missing with the listed suffix may have any other
    allowed suffix. ``metainfo`` updates ``dict(dataset_type=
    'basic_image_dataset', task_name='editing')``. ``test_mode`` and
    ``backend_args`` (local files only) are accepted for MMagic configs.
    """

    METAINFO = dict(dataset_type="basic_image_dataset", task_name="editing")

    def __init__(self, ann_file: str = "", metainfo: dict | None = None, data_root: str | None = None,
                 data_prefix: dict | str | None = None, pipeline: Sequence[dict] | None = (), test_mode: bool = False,
                 filename_tmpl: dict | None = None, search_key: str | None = None, backend_args: dict | None = None,
                 img_suffix: Any = DEFAULT_IMG_SUFFIXES, recursive: bool = True) -> None:
        if metainfo is not None and not isinstance(metainfo, dict):
            raise ConfigError(f"BasicImageDataset: metainfo must be a dict, got {metainfo!r}")
        if backend_args is not None and dict(backend_args).get("backend", "local") != "local":
            raise ConfigError(f"BasicImageDataset: only local files are supported; backend_args={backend_args!r}")
        self.metainfo = {**self.METAINFO, **(metainfo or {})}
        self.data_root = None if data_root is None else Path(data_root).expanduser()
        self.suffixes = _suffixes(img_suffix)
        self.recursive, self.test_mode = bool(recursive), bool(test_mode)
        self.data_prefix = self._prefixes(data_prefix)
        self.filename_tmpl = self._templates(filename_tmpl)
        if search_key is not None and search_key not in self.data_prefix:
            raise ConfigError(f"BasicImageDataset: search_key {search_key!r} is not a data_prefix field "
                              f"({sorted(self.data_prefix)})")
        self.search_key = search_key or next(iter(self.data_prefix))
        self.ann_file = self._under_root(ann_file) if ann_file else None
        self.samples = self._scan()
        super().__init__(pipeline)

    def _under_root(self, path: str) -> Path:
        path = Path(path).expanduser()
        return path if path.is_absolute() or self.data_root is None else self.data_root / path

    def _prefixes(self, data_prefix: Any) -> dict[str, str]:
        if data_prefix is None:
            data_prefix = {"img": ""}
        elif isinstance(data_prefix, str):
            data_prefix = {"img": data_prefix}
        if not (isinstance(data_prefix, dict) and data_prefix and all(
                isinstance(k, str) and isinstance(v, (str, type(None))) for k, v in data_prefix.items())):
            raise ConfigError(f"BasicImageDataset: data_prefix must be None, a sub-folder, or a dict field -> "
                              f"sub-folder; got {data_prefix!r}")
        if self.data_root is None and any(not v for v in data_prefix.values()):
            raise ConfigError(f"BasicImageDataset: data_root is not set (data_prefix={data_prefix!r}); "
                              "set data_root to the image folder (e.g. --cfg-options train_dataloader.dataset.data_root=...)")
        return {k: v or "" for k, v in data_prefix.items()}

    def _templates(self, filename_tmpl: Any) -> dict[str, str]:
        templates = dict(filename_tmpl or {})
        for key, template in templates.items():
            if key not in self.data_prefix:
                raise ConfigError(f"BasicImageDataset: filename_tmpl names {key!r}, which is not a data_prefix "
                                  f"field ({sorted(self.data_prefix)})")
            if not isinstance(template, str) or template.count("{}") != 1:
                raise ConfigError(f"BasicImageDataset: filename_tmpl[{key!r}] must contain '{{}}' once, got {template!r}")
        return {key: templates.get(key, "{}") for key in self.data_prefix}

    def _folder(self, key: str) -> Path:
        folder = self._under_root(self.data_prefix[key]) if self.data_prefix[key] else self.data_root
        if not folder.is_dir():
            what = "does not exist" if not folder.exists() else "is not a folder"
            raise ConfigError(f"BasicImageDataset: data folder {str(folder)!r} (data_root"
                              f"{'' if not self.data_prefix[key] else ' + data_prefix.' + key}) {what}"
                              + (f" (relative to {Path.cwd()})" if not folder.is_absolute() else "")
                              + ": point data_root at your images, or write an example folder with "
                                "`mgx data digits FOLDER`")
        return folder

    def _names_from_folder(self, folder: Path) -> list[tuple[str, str]]:
        """(name without template, suffix) of every image in the search folder whose name fits its template."""
        template = self.filename_tmpl[self.search_key]
        prefix, postfix = template.split("{}")
        pattern = re.compile(re.escape(prefix) + "(.*)" + re.escape(postfix) + r"\Z", re.S)
        candidates = folder.rglob("*") if self.recursive else folder.iterdir()
        names = []
        for path in sorted(p for p in candidates if p.is_file() and p.suffix.lower() in self.suffixes):
            relative = path.relative_to(folder).with_suffix("").as_posix()
            directory, _, stem = relative.rpartition("/")
            match = pattern.match(stem)
            if match:
                names.append((f"{directory}/{match.group(1)}" if directory else match.group(1), path.suffix))
        if not names:
            how = "recursively" if self.recursive else "(not recursively)"
            fit = f" named like {template!r}" if template != "{}" else ""
            raise ConfigError(f"BasicImageDataset: no images{fit} in {str(folder)!r} searched {how} for "
                              f"{', '.join(self.suffixes)}; check data_root/data_prefix, img_suffix or filename_tmpl")
        return names

    def _names_from_ann(self) -> list[tuple[str, str]]:
        names = []
        for entry in read_ann_file(self.ann_file):
            base, suffix = os.path.splitext(entry.replace("\\", "/").lstrip("/"))
            names.append((base, suffix))
        return names

    def _partner(self, key: str, folder: Path, name: str, suffix: str, origin: str) -> str:
        directory, _, stem = name.rpartition("/")
        base = folder / directory / self.filename_tmpl[key].format(stem) if directory else \
            folder / self.filename_tmpl[key].format(stem)
        exact = base.parent / (base.name + suffix)
        if exact.is_file():
            return str(exact)
        for other in self.suffixes:  # mgx: partners may be stored in another format
            for candidate in (base.parent / (base.name + other), base.parent / (base.name + other.upper())):
                if candidate.is_file():
                    return str(candidate)
        raise ConfigError(f"BasicImageDataset: {origin} lists {name}{suffix!s} but its {key!r} file {str(exact)!r} "
                          f"does not exist (data_prefix.{key}={self.data_prefix[key]!r}, "
                          f"filename_tmpl.{key}={self.filename_tmpl[key]!r})")

    def _scan(self) -> list[dict[str, str]]:
        folders = {key: self._folder(key) for key in self.data_prefix}
        if self.ann_file is not None:
            names, origin = self._names_from_ann(), f"ann_file {str(self.ann_file)!r}"
        else:
            names, origin = self._names_from_folder(folders[self.search_key]), f"folder {str(folders[self.search_key])!r}"
        return [{"key": name, **{f"{key}_path": self._partner(key, folder, name, suffix, origin)
                                 for key, folder in folders.items()}}
                for name, suffix in names]

    def __len__(self) -> int:
        return len(self.samples)

    def raw_sample(self, idx: int) -> dict:
        return dict(self.samples[idx])
