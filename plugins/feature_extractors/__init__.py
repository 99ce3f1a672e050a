"""Built-in feature extractors for mgx's generative metrics (see ``base`` for the protocol)."""
from mgx.core.hookspecs import hookimpl

from .inception_pytorch import FIDInceptionV3
from .nvidia_torchscript import NvidiaVGG16, StyleGANInception
from .vgg import LPIPSVGG, TorchvisionVGG16Features


@hookimpl
def mgx_register_feature_extractors(register):
    register(StyleGANInception, aliases=("InceptionStyleGAN",))
    register(FIDInceptionV3, aliases=("InceptionPyTorch", "PyTorchInception"))
    register(NvidiaVGG16)
    register(TorchvisionVGG16Features)
    register(LPIPSVGG)
