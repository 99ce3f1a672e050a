"""Files of real-image statistics (FID moments, KID/PR features) reused across evaluations.

The cache key hashes what determines the statistics — the dataset config
(with its pipeline), the extractor identity (type and weights hash), what is
stored and real_nums — and deliberately NOT the number of processes: results
are identical on any world size, so the cache is too.

Files are written with ``torch.save`` to a temporary name and moved into
place with ``os.replace``; they are read with ``torch.load(weights_only=True)``
(no pickled code runs). ``.npz`` files with ``mu``/``sigma`` (pytorch-fid,
clean-fid) are read with ``allow_pickle=False``.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np
import torch

from mgx.core.errors import ConfigError, MgxError

FORMAT = "mgx-real-stats"
VERSION = 1


def _canonical(value):
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return repr(value)


def dataset_part(dataloader_cfg: dict | None) -> object:
    """The part of a dataloader config that decides the images: its dataset (pipeline included)."""
    if not dataloader_cfg:
        return None
    return dataloader_cfg.get("dataset", dataloader_cfg)


def cache_key(dataloader_cfg: dict | None, extractor_identity: str, real_nums: int, content: str) -> str:
    """sha256 (hex) of the dataset config, extractor identity, real_nums and what is stored."""
    payload = {"dataset": _canonical(dataset_part(dataloader_cfg)), "extractor": extractor_identity,
               "real_nums": int(real_nums), "content": content, "version": VERSION}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def cache_path(cache_dir: Path, metric: str, key: str) -> Path:
    return Path(cache_dir) / "real_stats" / f"{metric}-{key[:32]}.pt"


def save_stats(path: Path, extractor_identity: str, content: str, tensors: dict[str, torch.Tensor],
               real_nums: int) -> None:
    """Write statistics atomically (temp file in the same folder, then os.replace)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"format": FORMAT, "version": VERSION, "extractor": extractor_identity, "content": content,
              "real_nums": int(real_nums), **{k: v.detach().cpu() for k, v in tensors.items()}}
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    try:
        torch.save(record, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def load_stats(path: Path, extractor_identity: str, content: str, field: str = "inception_pkl") -> dict:
    """Read a statistics file made by ``save_stats`` (or a mu/sigma .npz for content 'moments').

    Refuses a file made with another extractor or holding other content.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{field}: {path} does not exist")
    if path.suffix == ".npz":
        return _load_npz(path, content, field)
    try:
        record = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # pickles with code, MMagic's .pkl files, corrupt files
        raise ConfigError(f"{field}: {path} is not an mgx statistics file readable without running pickled "
                          f"code ({type(exc).__name__}). Recompute it with mgx, or give an .npz with mu/sigma.") from exc
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise ConfigError(f"{field}: {path} is not an mgx real-statistics file (no format={FORMAT!r})")
    if record.get("extractor") != extractor_identity:
        raise ConfigError(f"{field}: {path} was made with feature extractor {record.get('extractor')!r}, "
                          f"but this metric uses {extractor_identity!r}; statistics of different networks "
                          f"are not comparable. Remove {field} or recompute the file with this extractor.")
    if record.get("content") != content:
        raise ConfigError(f"{field}: {path} holds {record.get('content')!r}, this metric needs {content!r}")
    return record


def _load_npz(path: Path, content: str, field: str) -> dict:
    if content != "moments":
        raise ConfigError(f"{field}: {path} is an .npz (mean/covariance); this metric needs features")
    with np.load(path, allow_pickle=False) as data:
        if "mu" not in data or "sigma" not in data:
            raise ConfigError(f"{field}: {path} has arrays {sorted(data.files)}; expected 'mu' and 'sigma'")
        return {"format": "npz", "mu": torch.from_numpy(data["mu"]).double(),
                "sigma": torch.from_numpy(data["sigma"]).double()}


def try_load(path: Path, extractor_identity: str, content: str) -> dict | None:
    """A cached record, or None when absent or unusable (a damaged cache file is recomputed)."""
    if not Path(path).is_file():
        return None
    try:
        return load_stats(path, extractor_identity, content, field="cache file")
    except MgxError:
        return None
