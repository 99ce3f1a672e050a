"""One comparison of nested results (checkpoints, batches): tensors equal bit for bit, dicts with
the same keys, sequences of the same length, everything else ``==``; the first difference is named
by its path."""
from __future__ import annotations

from typing import Any


def assert_identical(a: Any, b: Any, where: str = "", exact_types: bool = False) -> None:
    """``exact_types``: also the same Python type at every level, and tensors of the same dtype."""
    import torch

    if exact_types:
        assert type(a) is type(b), f"{where}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, torch.Tensor):
        assert not exact_types or a.dtype == b.dtype, f"{where}: dtype {a.dtype} != {b.dtype}"
        assert torch.equal(a, b), f"tensors differ at {where}"
    elif isinstance(a, dict):
        assert set(a) == set(b), f"keys differ at {where}: {set(a) ^ set(b)}"
        assert not exact_types or list(a) == list(b), f"key order differs at {where}"
        for key in a:
            assert_identical(a[key], b[key], f"{where}.{key}", exact_types)
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for index, (x, y) in enumerate(zip(a, b)):
            assert_identical(x, y, f"{where}[{index}]", exact_types)
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"
