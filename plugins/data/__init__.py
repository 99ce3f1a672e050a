"""Built-in datasets, transforms and samplers.

Registered exactly as a third-party plugin would register them; the imports sit
inside the hooks so that loading the plugin (for ``mgx --help``) stays cheap.
See docs/data.md for the sample conventions every component here follows.
"""
from mgx.core.hookspecs import hookimpl


@hookimpl
def mgx_register_datasets(register):
    from .conditional_datasets import CIFAR10, BasicConditionalDataset, ImageNet
    from .datasets import BasicImageDataset, DigitsDataset, TorchvisionDataset
    from .frames import BasicFramesDataset
    from .grow_scale import GrowScaleImgDataset
    from .matting import AdobeComp1kDataset
    from .paired_digits import PairedDigitsDataset
    from .singan_dataset import SinGANDataset
    from .translation_datasets import PairedImageDataset, UnpairedImageDataset

    register(BasicImageDataset)
    register(BasicFramesDataset)
    register(AdobeComp1kDataset)
    register(DigitsDataset)
    register(PairedDigitsDataset)
    register(SinGANDataset)
    register(TorchvisionDataset)
    register(PairedImageDataset)
    register(UnpairedImageDataset)
    register(GrowScaleImgDataset)
    for conditional in (BasicConditionalDataset, ImageNet, CIFAR10):
        register(conditional)


@hookimpl
def mgx_register_transforms(register):
    from .transforms import ALL_TRANSFORMS

    for transform in ALL_TRANSFORMS:
        register(transform)


@hookimpl
def mgx_register_samplers(register):
    from .samplers import DefaultSampler, InfiniteSampler

    register(DefaultSampler)
    register(InfiniteSampler)
