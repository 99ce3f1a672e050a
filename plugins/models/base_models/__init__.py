"""Model bases several families share (MMagic's ``models/base_models``): ``BaseEditModel``, one
generator trained with a pixel loss, with pretrained-weight loading and tiled inference;
``BaseTranslationModel``, the domains and per-domain networks of Pix2Pix and CycleGAN;
``OneStageInpaintor``/``TwoStageInpaintor``, the inpainting models' masked-image training and evaluation;
``BaseMattor``/``MattorPreprocessor``, trimap-based matting; ``BasicInterpolator``, video frame
interpolation on frame windows (``frame_windows``); and the ``ExponentialMovingAverageHook`` run hook
(``ema_hook``, registered by the models plugin)."""
from .base_edit_model import BaseEditModel
from .base_mattor import BaseMattor, MattorPreprocessor
from .base_translation_model import BaseTranslationModel
from .frame_windows import BasicInterpolator
from .one_stage import OneStageInpaintor
from .two_stage import TwoStageInpaintor


def components() -> list:
    """The bases registered as model-kind components (a config may name ``BaseEditModel`` itself)."""
    return [BaseEditModel, BasicInterpolator, OneStageInpaintor, TwoStageInpaintor, MattorPreprocessor]


__all__ = ["BaseEditModel", "BaseMattor", "BasicInterpolator", "BaseTranslationModel", "MattorPreprocessor",
           "OneStageInpaintor", "TwoStageInpaintor", "components"]
