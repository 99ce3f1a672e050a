"""What PPL and Equivariance need from a generator, checked up front with clear errors.

Capabilities (methods of the model that ``sample_model`` selects):

- ``sample(num=None, *, noise=None)`` → images in [-1, 1] from latent ``noise`` (N×latent_dim);
  ``latent_dim`` attribute. (All generative metrics.)
- ``mapping(z)`` → w and ``synthesis(w)`` → images in [-1, 1]. (PPL in W space.)
- ``synthesis(w, transform=M)`` with M a 3×3 tensor: StyleGAN3's input transform
  (maps output coordinates, image spanning [-0.5, 0.5]², to input coordinates), so
  M = [[1,0,-tx],[0,1,-ty],[0,0,1]] translates the image by (tx, ty) image widths
  and M = R(-θ) rotates it by θ. (Equivariance.)
"""
from __future__ import annotations

import inspect

from mgx.core.errors import MgxError


def require_method(model, method: str, metric: str, why: str) -> None:
    if not callable(getattr(model, method, None)):
        raise MgxError(f"{metric} needs model.{method}() ({why}), but model {type(model).__name__} has no "
                       f"{method} method; implement it (see docs/metrics.md, 'Model capabilities') or drop {metric}")


def require_transform_argument(model, metric: str) -> None:
    require_method(model, "synthesis", metric, "synthesis(w, transform=M) renders an input-transformed image")
    try:
        params = inspect.signature(model.synthesis).parameters
    except (TypeError, ValueError):
        return
    accepts = "transform" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())
    if not accepts:
        raise MgxError(f"{metric} needs model.synthesis(w, transform=M), but {type(model).__name__}.synthesis "
                       f"takes no 'transform' argument; add it (StyleGAN3's input transform) or drop {metric}")


def latent_dim_of(model, fallback: int | None, metric: str) -> int:
    dim = getattr(model, "latent_dim", None) or fallback
    if not dim:
        raise MgxError(f"{metric}: model {type(model).__name__} has no latent_dim attribute; set latent_dim= in the metric")
    return int(dim)
