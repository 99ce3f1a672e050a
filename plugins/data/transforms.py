"""Every built-in transform, by concern, gathered for registration (see docs/data.md).

Transforms are callables ``dict -> dict`` built from a dataset's ``pipeline``;
until ``PackInputs``, images are numpy H×W×C arrays.
"""
from .albu_transforms import ALBU_TRANSFORMS
from .augment_transforms import ColorJitter, RandomResizedCrop, RandomRotation
from .blur import RandomBlur
from .coordinates import GenerateCoordinateAndCell
from .crop_transforms import (CenterCropLongEdge, Crop, CropLike, FixedCrop, ModCrop, PairedRandomCrop,
                              RandomCropLongEdge)
from .degradations import DegradeForRestoration, RandomDownSampling, RandomResize
from .formatting import PackInputs
from .frame_transforms import (GenerateFrameIndices, GenerateFrameIndiceswithPadding, GenerateSegmentIndices,
                               MirrorSequence, TemporalReverse)
from .instance_crop import InstanceCrop
from .loading import LoadImageFromFile, LoadPairedImageFromFile
from .masks import GetMaskedImage, LoadMask
from .matting import FormatTrimap, GenerateTrimap, GenerateTrimapWithDistTransform, RescaleToZeroOne, TransformTrimap
from .matting_composition import (CompositeFg, CropAroundCenter, CropAroundUnknown, MergeFgAndBg, PerturbBg,
                                  RandomAffine, RandomJitter, RandomLoadResizeBg)
from .matting_seg import GenerateSeg, GenerateSoftSeg
from .pixel_degradations import DegradationsWithShuffle, RandomJPEGCompression, RandomNoise, UnsharpMasking
from .shape_transforms import Flip, NumpyPad, RandomTransposeHW, Resize
from .value_transforms import Clip, CopyValues, Normalize, SetValues
from .facial_heatmap import GenerateFacialHeatmap
from .video_compression import RandomVideoCompression
from .wrappers import KeyMapper, TransformBroadcaster

ALL_TRANSFORMS = (
    LoadImageFromFile, LoadPairedImageFromFile, PackInputs, KeyMapper, TransformBroadcaster,
    Resize, Flip, RandomTransposeHW, NumpyPad,
    Crop, PairedRandomCrop, ModCrop, CenterCropLongEdge, RandomCropLongEdge, CropLike, FixedCrop,
    SetValues, CopyValues, Clip, Normalize,
    RandomDownSampling, RandomResize, RandomBlur, RandomNoise, RandomJPEGCompression, UnsharpMasking,
    DegradationsWithShuffle, RandomVideoCompression, GenerateCoordinateAndCell, DegradeForRestoration,
    GenerateSegmentIndices, GenerateFrameIndices, GenerateFrameIndiceswithPadding, MirrorSequence, TemporalReverse,
    LoadMask, GetMaskedImage, GenerateFacialHeatmap, RandomResizedCrop, RandomRotation, ColorJitter,
    InstanceCrop,
    GenerateTrimap, GenerateTrimapWithDistTransform, FormatTrimap, TransformTrimap, RescaleToZeroOne,
    MergeFgAndBg, CompositeFg, RandomLoadResizeBg, PerturbBg, RandomJitter, RandomAffine, CropAroundUnknown,
    CropAroundCenter, GenerateSeg, GenerateSoftSeg,
) + ALBU_TRANSFORMS

__all__ = [t.__name__ for t in ALL_TRANSFORMS] + ["ALL_TRANSFORMS"]
