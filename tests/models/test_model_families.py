"""A model family is one folder (plugins/models/<family>/, MMagic's family names); the parts
several families share have one home each: bases in base_models/, every loss in losses/,
shared layers in ops/. Fails when a component lands in a second place."""
from __future__ import annotations

import inspect
from pathlib import Path

from mgx.core.registry import get_registry

MODELS = Path(__file__).resolve().parents[2] / "plugins" / "models"
# MMagic 1.2.0's family folders (mmagic/models/editors/): a family folder here takes one of these names
MMAGIC_FAMILIES = {
    "animatediff", "aotgan", "arcface", "basicvsr", "basicvsr_plusplus_net", "biggan", "cain", "controlnet",
    "cyclegan", "dcgan", "ddpm", "deblurganv2", "deepfillv1", "deepfillv2", "dic", "dim", "disco_diffusion",
    "dreambooth", "duf", "edsr", "edvr", "eg3d", "esrgan", "fastcomposer", "fba", "flavr", "gca", "ggan", "glean",
    "global_local", "guided_diffusion", "iconvsr", "indexnet", "inst_colorization", "liif", "lsgan", "mspie",
    "nafnet", "pconv", "pggan", "pix2pix", "plain", "rdn", "real_basicvsr", "real_esrgan", "restormer", "sagan",
    "singan", "srcnn", "srgan", "stable_diffusion", "stable_diffusion_xl", "stylegan1", "stylegan2", "stylegan3",
    "swinir", "tdan", "textual_inversion", "tof", "ttsr", "vico", "wgan_gp"}
SHARED = {"base_models", "losses", "ops"}
# the family folders present now (each must be one of MMagic's)
FAMILIES = {path.name for path in MODELS.iterdir() if (path / "__init__.py").is_file()} - SHARED


def _home(component) -> tuple[str, ...]:
    """The component's file relative to plugins/models/, as parts."""
    return Path(inspect.getfile(component)).resolve().relative_to(MODELS).parts


def test_family_folders_take_mmagics_family_names():
    assert FAMILIES <= MMAGIC_FAMILIES, f"not an MMagic family folder name: {sorted(FAMILIES - MMAGIC_FAMILIES)}"


def test_every_model_component_lives_in_a_family_or_shared_folder():
    homes = {entry.name: _home(entry.component) for entry in get_registry().entries("model")}
    assert homes, "the model plugin registered nothing"
    loose = {name: "/".join(home) for name, home in homes.items()
             if len(home) < 2 and name != "DataPreprocessor"}  # the preprocessor is every model's, at the top
    assert not loose, f"components outside a family folder: {loose}"
    assert {home[0] for home in homes.values() if len(home) > 1} <= FAMILIES | SHARED


def test_every_loss_lives_in_losses_and_mmagics_networks_in_their_family():
    homes = {entry.name: _home(entry.component) for entry in get_registry().entries("model")}
    misplaced_losses = {name: "/".join(home) for name, home in homes.items()
                        if name.endswith("Loss") and home[0] != "losses"}
    assert not misplaced_losses, f"losses outside plugins/models/losses/: {misplaced_losses}"
    expected = {"SRCNNNet": "srcnn", "EDSRNet": "edsr", "MSRResNet": "srgan", "SRGAN": "srgan",
                "ModifiedVGG": "srgan", "RRDBNet": "esrgan", "ESRGAN": "esrgan", "BaseEditModel": "base_models",
                "SwinIRNet": "swinir", "RDNNet": "rdn", "LIIF": "liif", "LIIFEDSRNet": "liif", "LIIFRDNNet": "liif",
                "MLPRefiner": "liif", "Restormer": "restormer", "NAFNet": "nafnet", "NAFNetLocal": "nafnet",
                "RealESRGAN": "real_esrgan", "UNetDiscriminatorWithSpectralNorm": "real_esrgan",
                "GLEANStyleGANv2": "glean", "StyleGANv2Discriminator": "stylegan2"}
    assert {name: homes[name][0] for name in expected} == expected


def test_each_folder_is_a_package_that_says_what_it_registers():
    import importlib

    for folder in sorted(FAMILIES | SHARED):
        package = importlib.import_module(f"mgx.plugins.models.{folder}")
        components = package.components()
        assert components and all(_home(component)[0] == folder for component in components), folder
