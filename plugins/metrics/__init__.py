"""Built-in generative and image metrics, registered under MMagic's names and aliases."""
from mgx.core.hookspecs import hookimpl

from .equivariance import Equivariance
from .fid import FrechetInceptionDistance, TransFID
from .inception_score import InceptionScore, TransIS
from .kid import KernelInceptionDistance
from .matting import SAD, ConnectivityError, GradientError, MattingMSE
from .ms_ssim import MultiScaleStructureSimilarity
from .niqe import NIQE
from .paired import MAE, MSE, PSNR, SSIM
from .ppl import PerceptualPathLength
from .precision_recall import PrecisionAndRecall
from .swd import SlicedWassersteinDistance

__all__ = ["FrechetInceptionDistance", "TransFID", "InceptionScore", "TransIS", "KernelInceptionDistance",
           "PrecisionAndRecall", "PerceptualPathLength", "MultiScaleStructureSimilarity",
           "SlicedWassersteinDistance", "Equivariance", "PSNR", "SSIM", "MAE", "MSE", "NIQE",
           "SAD", "MattingMSE", "GradientError", "ConnectivityError"]


@hookimpl
def mgx_register_metrics(register):
    register(FrechetInceptionDistance, aliases=("FID", "FID-Full"))
    register(TransFID)
    register(InceptionScore, aliases=("IS",))
    register(TransIS)
    register(KernelInceptionDistance, aliases=("KID",))
    register(PrecisionAndRecall, aliases=("PR",))
    register(PerceptualPathLength, aliases=("PPL",))
    register(MultiScaleStructureSimilarity, aliases=("MS_SSIM",))
    register(SlicedWassersteinDistance, aliases=("SWD",))
    register(Equivariance, aliases=("EQ",))
    register(PSNR)
    register(SSIM)
    register(MAE)
    register(MSE)
    register(NIQE)
    for matting_metric in (SAD, MattingMSE, GradientError, ConnectivityError):
        register(matting_metric)
