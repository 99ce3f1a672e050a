"""``GenerateFacialHeatmap`` (MMagic's name and arguments): Gaussian heatmaps of a face's landmarks,
the targets of DIC's landmark estimator.

Landmarks come from a detector: MMagic's, the ``face-alignment`` package (``pip install
face-alignment``; its networks are fetched by that package on first use), or — an mgx addition —
``detector='module:function'``, any function of an H×W×3 uint8 RGB image returning the landmarks as
a K×2 array of (x, y) (or a list of such arrays, one per face). Of several faces the tallest
(chin to eyebrow) is used, as in MMagic.
"""
from __future__ import annotations

import importlib
import importlib.util
from typing import Any, Callable

import numpy as np

from mgx.core.errors import ConfigError, MgxError

from .images import require_image

FACE_ALIGNMENT = "face_alignment"


def _pair(value: Any, name: str) -> tuple[int, int]:
    if isinstance(value, int):
        return value, value
    if isinstance(value, (list, tuple)) and len(value) >= 2:
        return int(value[0]), int(value[1])
    raise ConfigError(f"GenerateFacialHeatmap: {name} must be an int or (h, w), got {value!r}")


def _face_alignment_detector() -> Callable[[np.ndarray], Any]:
    try:
        import face_alignment
    except ImportError:
        raise ConfigError("GenerateFacialHeatmap finds landmarks with the face-alignment package: pip install "
                          "face-alignment (or give detector='module:function')") from None
    kind = getattr(face_alignment.LandmarksType, "TWO_D", None) or getattr(face_alignment.LandmarksType, "_2D")
    model = face_alignment.FaceAlignment(kind, device="cpu", flip_input=False)
    return model.get_landmarks


def _imported(path: str) -> Callable[[np.ndarray], Any]:
    module_name, _, name = path.partition(":")
    try:
        function = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ConfigError(f"GenerateFacialHeatmap: detector={path!r} cannot be imported ({exc}); give "
                          f"'module:function' or {FACE_ALIGNMENT!r}") from None
    if not callable(function):
        raise ConfigError(f"GenerateFacialHeatmap: detector={path!r} is not callable")
    return function


class GenerateFacialHeatmap:
    """Adds ``{image_key}_heatmap``: target_size × K float32, one Gaussian (``sigma`` in target pixels)
    per landmark, the landmarks scaled from ``ori_size`` to ``target_size``. ``use_cache`` keeps each
    sample's heatmap by its ``key``."""

    def __init__(self, image_key: str, ori_size: Any, target_size: Any, sigma: float = 1.0, use_cache: bool = True,
                 detector: str = FACE_ALIGNMENT) -> None:
        self.image_key = image_key
        self.ori_size = _pair(ori_size, "ori_size")
        self.target_size = _pair(target_size, "target_size")
        self.size_ratio = (self.target_size[0] / self.ori_size[0], self.target_size[1] / self.ori_size[1])
        self.sigma = float(sigma)
        self.use_cache = use_cache
        self.cache: dict[str, np.ndarray] = {}
        if not isinstance(detector, str):
            raise ConfigError(f"GenerateFacialHeatmap: detector must be {FACE_ALIGNMENT!r} or 'module:function', "
                              f"got {detector!r}")
        self.detector_name = detector
        if detector == FACE_ALIGNMENT:  # checked now (a missing package is a config problem), built on first use
            if importlib.util.find_spec("face_alignment") is None:
                raise ConfigError("GenerateFacialHeatmap finds landmarks with the face-alignment package: pip "
                                  "install face-alignment (or give detector='module:function')")
            self._detector: Callable | None = None
        else:
            self._detector = _imported(detector)

    def landmarks(self, image: np.ndarray, where: str) -> np.ndarray:
        if self._detector is None:
            self._detector = _face_alignment_detector()
        found = self._detector(image)
        faces = [np.asarray(found, dtype=np.float64)] if isinstance(found, np.ndarray) else list(found or [])
        if not faces:
            raise MgxError(f"GenerateFacialHeatmap: no face found in {where}")
        # the tallest face: chin (landmark 8) to eyebrow (19) in the 68-point layout
        return max((np.asarray(face, dtype=np.float64) for face in faces),
                   key=lambda face: face[8, 1] - face[19, 1] if len(face) > 19 else 0.0)

    def heatmap(self, landmarks: np.ndarray) -> np.ndarray:
        height, width = self.target_size
        grid_y, grid_x = np.mgrid[0:height, 0:width]
        # (x by the widths' ratio: MMagic scales x by the heights', which differs only for non-square sizes)
        x = landmarks[:, 0] * self.size_ratio[1]
        y = landmarks[:, 1] * self.size_ratio[0]
        distance2 = (grid_x[..., None] - x) ** 2 + (grid_y[..., None] - y) ** 2
        return np.exp(-distance2 / (2.0 * self.sigma ** 2)).astype(np.float32)

    def __call__(self, sample: dict) -> dict:
        image = require_image(sample, self.image_key, "GenerateFacialHeatmap")
        cache_key = f"{self.image_key}_{sample.get('key')}"
        if self.use_cache and cache_key in self.cache:
            heatmap = self.cache[cache_key]
        else:
            where = sample.get(f"{self.image_key}_path") or sample.get("key") or "the sample"
            heatmap = self.heatmap(self.landmarks(image, str(where)))
            if self.use_cache:
                self.cache[cache_key] = heatmap
        sample[f"{self.image_key}_heatmap"] = heatmap
        return sample
