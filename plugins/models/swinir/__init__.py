"""MMagic's SwinIR family: ``SwinIRNet`` (super-resolution, denoising, JPEG artifact removal), trained by
``BaseEditModel`` (see docs/models.md, "SwinIR"). Window attention lives in ``..ops.window_attention``."""


def components() -> list:
    """What this family registers as model-kind components."""
    from .swinir_net import SwinIRNet

    return [SwinIRNet]
