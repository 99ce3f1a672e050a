"""``RandomVideoCompression`` (MMagic 1.2.0's name and arguments): encode a clip's frames as a video with
a randomly chosen codec and bit rate, and decode it again - the compression artefacts of real videos
(RealBasicVSR's degradations). It needs PyAV, the optional extra ``pip install 'mgx[video]'``."""
from __future__ import annotations

import importlib.util
import io
import logging
from typing import Any

import numpy as np

from mgx.core.errors import ConfigError

from .transform_utils import RandomDegradation, keys_arg

EXTRA = "video"


def require_av(who: str) -> None:
    """A ConfigError that names the extra when PyAV is not installed (raised when the config is built,
    so pre-flight stops the run before anything is written)."""
    try:
        found = importlib.util.find_spec("av") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise ConfigError(f"{who} needs the optional extra '{EXTRA}' (PyAV, package 'av', is not installed): "
                          f"pip install 'mgx[{EXTRA}]'")


def _even(frames: list[np.ndarray]) -> tuple[list[np.ndarray], int, int]:
    """Frames as uint8, edge-padded to even sides (4:2:0 video needs them); the original height and width."""
    height, width = frames[0].shape[:2]
    pad = ((0, height % 2), (0, width % 2), (0, 0))
    return [np.pad(np.clip(np.rint(f), 0, 255).astype(np.uint8), pad, mode="edge") for f in frames], height, width


def compress_frames(frames: list[np.ndarray], codec: str, bitrate: int) -> list[np.ndarray]:
    """RGB H×W×3 frames through an MP4 container with ``codec`` (yuv420p, ``bitrate`` bit/s, one frame per
    second, the encoder choosing frame types) and back: float32 frames of the first frame's size. Frames of
    another size (RandomResize's ``resize_step`` drifts them) are rescaled by PyAV's encoder to the first
    one's (bilinear), as in MMagic."""
    import av

    if any(f.ndim != 3 or f.shape[2] != 3 for f in frames):
        raise ConfigError(f"RandomVideoCompression: frames must be RGB H×W×3, got {[tuple(f.shape) for f in frames]}")
    pixels, height, width = _even(frames)
    buffer = io.BytesIO()
    with av.open(buffer, "w", "mp4") as container:
        stream = container.add_stream(codec, rate=1)
        stream.height, stream.width = pixels[0].shape[:2]
        stream.pix_fmt, stream.bit_rate = "yuv420p", int(bitrate)
        for image in pixels:
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():  # flush the encoder's delayed frames
            container.mux(packet)
    buffer.seek(0)
    with av.open(buffer, "r", "mp4") as container:
        decoded = [frame.to_rgb().to_ndarray()[:height, :width].astype(np.float32)
                   for frame in container.decode(video=0)]
    if len(decoded) != len(frames):
        raise RuntimeError(f"RandomVideoCompression: {codec} gave back {len(decoded)} of {len(frames)} frames")
    return decoded


class RandomVideoCompression(RandomDegradation):
    """Compress the frames of each of ``keys`` as one video.

    ``params``: ``codec`` (names PyAV knows, e.g. 'libx264', 'h264', 'mpeg4') drawn with ``codec_prob``,
    ``bitrate=[low, high]`` (an integer drawn uniformly, inclusive), ``prob`` (apply at all, default 1).
    Frames are rounded and clipped to uint8 first (MMagic casts without clipping, which wraps the
    noisy values outside [0, 255] around); odd sides are edge-padded for the encoder and cropped back.
    The result is float32, as MMagic's.
    """

    def __init__(self, params: dict, keys: Any) -> None:
        who = "RandomVideoCompression"
        if not isinstance(params, dict) or not {"codec", "codec_prob", "bitrate"} <= set(params):
            raise ConfigError(f"{who}: params needs codec, codec_prob and bitrate, got {params!r}")
        codecs, probs = params["codec"], params["codec_prob"]
        if not (isinstance(codecs, (list, tuple)) and codecs and all(isinstance(c, str) for c in codecs)
                and isinstance(probs, (list, tuple)) and len(probs) == len(codecs)):
            raise ConfigError(f"{who}: codec must be a list of codec names with one codec_prob each, got "
                              f"{codecs!r} and {probs!r}")
        bitrate = params["bitrate"]
        if not (isinstance(bitrate, (list, tuple)) and len(bitrate) == 2 and 0 < bitrate[0] <= bitrate[1]):
            raise ConfigError(f"{who}: bitrate must be [low, high] bits per second, got {bitrate!r}")
        require_av(who)
        import av

        unknown = [c for c in codecs if c not in av.codecs_available]
        if unknown:
            known = sorted(c for c in ("libx264", "h264", "mpeg4", "libvpx") if c in av.codecs_available)
            raise ConfigError(f"{who}: codec(s) {unknown} are not in this PyAV build (it has e.g. {known})")
        logging.getLogger("libav").setLevel(logging.CRITICAL)  # the encoders' chatter, as MMagic silences it
        self.params = dict(params)
        self.probabilities = np.asarray(probs, dtype=np.float64) / float(np.sum(probs))
        self.keys = keys_arg(keys, who, allow_none=False)

    def degrade(self, frames: list[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
        codec = self.params["codec"][int(rng.choice(len(self.params["codec"]), p=self.probabilities))]
        low, high = self.params["bitrate"]
        return compress_frames(frames, codec, int(rng.integers(int(low), int(high) + 1)))
