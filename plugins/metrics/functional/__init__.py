"""Pure tensor functions behind mgx's metrics (no engine, no I/O).

Each function is tested directly against a reference library
(torchmetrics, pytorch-msssim) in ``tests/metrics``.
"""
from .frechet import RunningMoments, frechet_distance
from .inception_score import inception_score_from_split_sums, inception_split_sums
from .kid import kid_from_features, kid_subset_scores, poly_mmd_unbiased
from .pixel import mae, mse, psnr, rgb_to_y
from .precision_recall import knn_radii, precision_recall
from .ssim import gaussian_window, ms_ssim, ssim

__all__ = [
    "RunningMoments", "frechet_distance", "inception_split_sums", "inception_score_from_split_sums",
    "kid_from_features", "kid_subset_scores", "poly_mmd_unbiased", "mae", "mse", "psnr", "rgb_to_y", "knn_radii",
    "precision_recall", "gaussian_window", "ssim", "ms_ssim",
]
