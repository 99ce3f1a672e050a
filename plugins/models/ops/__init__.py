"""Operations shared by model families (pure torch: CPU, GPU and autocast alike)."""


def components() -> list:
    """Networks several families build, registered once here (MMagic keeps them in models/archs)."""
    from .multi_layer_disc import MultiLayerDiscriminator
    from .patch_discriminator import PatchDiscriminator
    from .simple_encoder_decoder import SimpleEncoderDecoder
    from .soft_mask_patch_disc import SoftMaskPatchDiscriminator
    from .spectral_norm import SelfAttentionBlock, SNConvModule

    return [PatchDiscriminator, MultiLayerDiscriminator, SoftMaskPatchDiscriminator, SNConvModule, SelfAttentionBlock,
            SimpleEncoderDecoder]
