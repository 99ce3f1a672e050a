"""The diffusion extra in-process: MMagic's component names build diffusers/transformers objects from
config dicts or local folders, LoRA trains only its mappings and folds into plain diffusers weights,
DreamBooth's prior preservation, a diffusers-format folder that diffusers alone loads, and CLIPScore
against a float64 computation of its definition. Tiny random networks (16×16 images)."""
import math

import pytest
import torch

pytest.importorskip("diffusers")
pytest.importorskip("transformers")

from mgx.benchmarks.zoo_data.diffusion import UNET, build_tiny_pipeline  # noqa: E402
from mgx.core.errors import ConfigError  # noqa: E402
from mgx.core.plugins import PluginManager  # noqa: E402
from mgx.core.registry import build  # noqa: E402


@pytest.fixture(scope="module")
def pipeline_dir(tmp_path_factory):
    return build_tiny_pipeline(tmp_path_factory.mktemp("tiny_sd"))


@pytest.fixture(autouse=True)
def diffusion_plugins(model_plugins):
    yield PluginManager(["mgx.plugins.data", "mgx.plugins.models", "mgx.plugins.diffusion"]).activate()


def _dreambooth(root, model_type="DreamBooth", **kwargs):
    cfg = dict(type=model_type,
               vae=dict(type="AutoencoderKL", from_pretrained=str(root), subfolder="vae"),
               unet=dict(type="UNet2DConditionModel", from_pretrained=str(root), subfolder="unet"),
               text_encoder=dict(type="ClipWrapper", clip_type="huggingface",
                                 pretrained_model_name_or_path=str(root), subfolder="text_encoder"),
               tokenizer=str(root), scheduler=dict(type="DDPMScheduler", from_pretrained=str(root), subfolder="scheduler"),
               test_scheduler=dict(type="DDIMScheduler", from_pretrained=str(root), subfolder="scheduler"),
               data_preprocessor=dict(type="DataPreprocessor", data_keys=None), num_inference_steps=2, **kwargs)
    return build(cfg, "model")


class _Optim:
    """Stands in for the engine's OptimWrapperDict: one real torch optimizer, no AMP."""

    def __init__(self, params):
        self.optimizer = torch.optim.AdamW(params, lr=1e-3)

    def __contains__(self, name):
        return False

    def optim_context(self, *modules):
        import contextlib

        return contextlib.nullcontext()

    def update_params(self, loss):
        loss.backward()
        self.optimizer.step()
        self.optimizer.zero_grad()


def test_components_build_from_config_dicts_and_folders(pipeline_dir):
    unet = build(dict(type="UNet2DConditionModel", **UNET), "model")
    assert type(unet).__name__ == "UNet2DConditionModel" and unet.config.sample_size == 8
    loaded = build(dict(type="UNet2DConditionModel", from_pretrained=str(pipeline_dir), subfolder="unet"), "model")
    assert set(loaded.state_dict()) == set(unet.state_dict())
    ddim = build(dict(type="EditDDIMScheduler", beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012,
                      set_alpha_to_one=False, clip_sample=False), "model")
    assert type(ddim).__name__ == "DDIMScheduler" and ddim.config.beta_schedule == "scaled_linear"
    clip = build(dict(type="ClipWrapper", clip_type="huggingface", pretrained_model_name_or_path=str(pipeline_dir),
                      subfolder="text_encoder"), "model")
    assert not any(p.requires_grad for p in clip.parameters())


def test_a_hub_name_offline_is_one_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("MGX_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(ConfigError, match=r"runwayml/stable-diffusion-v1-5.*subfolder 'unet'.*offline.*huggingface-cli download"):
        build(dict(type="UNet2DConditionModel", from_pretrained="runwayml/stable-diffusion-v1-5", subfolder="unet"), "model")


def test_lora_trains_only_its_mappings_and_folds_into_diffusers_weights(pipeline_dir, tmp_path):
    from mgx.core.engine.optim import parameters_of_modules
    from mgx.plugins.models.stable_diffusion.lora import merged_state_dict

    model = _dreambooth(pipeline_dir, lora_config=dict(target_modules=["to_q", "to_k", "to_v"]))
    params = parameters_of_modules(model, ".*.lora_mapping", "optim_wrapper.modules")
    names = {name for name, p in model.named_parameters() if any(p is q for q in params)}
    assert names and all(".lora_mapping." in name for name in names)
    assert {name for name, p in model.named_parameters() if p.requires_grad} == names
    before = {k: v.clone() for k, v in model.unet.state_dict().items()}
    batch = dict(inputs=torch.randint(0, 256, (2, 3, 16, 16), dtype=torch.uint8), prompt=["a photo of sks digit"] * 2)
    losses = model.train_step(batch, _Optim(params))
    assert math.isfinite(float(losses["loss"]))
    changed = {k for k, v in model.unet.state_dict().items() if not torch.equal(v, before[k])}
    assert changed and all(".lora_mapping." in k for k in changed)
    # folding: a plain Linear with the merged weight computes what the hooked Linear computes (float64)
    for name, module in model.unet.named_modules():
        if hasattr(module, "lora_mapping"):
            torch.nn.init.normal_(module.lora_mapping.up.weight)  # a non-zero update
            x = torch.randn(3, module.in_features, dtype=torch.float64)
            merged = merged_state_dict(model.unet)[f"{name}.weight"].double()
            expected = x @ merged.T + (module.bias.double() if module.bias is not None else 0)
            assert torch.allclose(module.double()(x), expected, atol=1e-10)
            module.float()
            break
    folder = model.save_pretrained(tmp_path / "pipe")
    from diffusers import StableDiffusionPipeline

    loaded = StableDiffusionPipeline.from_pretrained(str(folder))
    merged = merged_state_dict(model.unet)
    assert all(torch.equal(loaded.unet.state_dict()[k], v) for k, v in merged.items())
    assert not any("lora" in k for k in loaded.unet.state_dict())


def test_prior_preservation_adds_the_class_loss(pipeline_dir):
    model = _dreambooth(pipeline_dir, class_prior_prompt="a digit", num_class_images=2, prior_loss_weight=1.0)
    batch = dict(inputs=torch.randint(0, 256, (1, 3, 16, 16), dtype=torch.uint8), prompt=["a photo of sks digit"])
    losses = model.train_step(batch, _Optim([p for p in model.unet.parameters()]))
    assert set(losses) == {"loss_mse", "prior_loss", "loss"} and math.isfinite(float(losses["prior_loss"]))
    assert bool(model.class_images_ready) and model.class_images.shape == (2, 3, 16, 16)
    assert model.class_images.abs().sum() > 0
    # kept in checkpoints: a model rebuilt for --resume trains on the same class images
    rebuilt = _dreambooth(pipeline_dir, class_prior_prompt="a digit", num_class_images=2, prior_loss_weight=1.0)
    rebuilt.load_state_dict(model.state_dict())
    assert bool(rebuilt.class_images_ready) and torch.equal(rebuilt.class_prior_images(), model.class_images)
    with pytest.raises(ConfigError, match="class_prior_prompt"):
        _dreambooth(pipeline_dir, prior_loss_weight=1.0, class_prior_prompt=None)


def test_clip_score_matches_its_float64_definition(tmp_path):
    from transformers import CLIPModel, CLIPTokenizer

    from mgx.benchmarks.zoo_data.diffusion import build_tiny_clip
    from mgx.core.evaluation import MetricContext
    from mgx.plugins.metrics.clip_score import CLIP_MEAN, CLIP_STD

    build_tiny_clip(tmp_path / "clip")
    metric = build(dict(type="CLIPScore", clip_model=str(tmp_path / "clip")), "metric")
    metric.setup(MetricContext(model=None, device=torch.device("cpu"), cache_dir=tmp_path, work_dir=tmp_path))
    images = torch.rand(6, 3, 16, 16) * 255
    prompts = ["a photo of sks digit", "a 7", "zero", "one two", "a cat", "digit 3"]
    for start in (0, 4):  # two batches
        metric.process({}, {"fake_img": images[start:start + 4], "prompt": prompts[start:start + 4]})
    metric.sync_states()  # as the Evaluator does before compute
    value = metric.compute()["clip_score"]
    # the definition in float64: 100 · max(cos(image embedding, text embedding), 0), mean over all pairs
    model = CLIPModel.from_pretrained(str(tmp_path / "clip")).double().eval()
    tokenizer = CLIPTokenizer.from_pretrained(str(tmp_path / "clip"))
    mean = torch.tensor(CLIP_MEAN, dtype=torch.float64).view(1, 3, 1, 1)
    std = torch.tensor(CLIP_STD, dtype=torch.float64).view(1, 3, 1, 1)
    every = torch.cat([images[:4], images[4:]]).double()
    pairs = prompts[:4] + prompts[4:]
    with torch.no_grad():
        tokens = tokenizer(pairs, padding="max_length", max_length=16, truncation=True, return_tensors="pt")
        e_image = model.vision_model(pixel_values=(every / 255 - mean) / std).pooler_output
        e_image = model.visual_projection(e_image)
        e_text = model.text_model(input_ids=tokens["input_ids"], attention_mask=tokens["attention_mask"]).pooler_output
        e_text = model.text_projection(e_text)
    cosine = (e_image * e_text).sum(-1) / (e_image.norm(dim=-1) * e_text.norm(dim=-1))
    expected = float((100 * cosine.clamp(min=0)).mean())
    assert value == pytest.approx(expected, rel=1e-5, abs=1e-4)


def test_textual_inversion_vectors_answer_only_the_placeholder_ids(pipeline_dir):
    model = _dreambooth(pipeline_dir, "TextualInversion", placeholder_token="<cat-toy>", initialize_token="toy",
                        num_vectors_per_token=2)
    assert model.expand_placeholders("a <cat-toy> on sofa") == "a <cat-toy>_0 <cat-toy>_1 on sofa"
    layer = model.text_encoder.get_input_embeddings()
    assert {name for name, p in model.named_parameters() if p.requires_grad} == {
        name for name, _ in model.named_parameters() if name.endswith("trainable_embeddings.<cat-toy>")}
    torch.nn.init.normal_(layer.trainable_embeddings["<cat-toy>"])
    ids = model.token_ids(["a <cat-toy> toy"])[0]
    start = layer.starts["<cat-toy>"]
    # the definition: a new id reads its own row of the placeholder's vectors, every other id the table
    table = torch.cat([layer.wrapped.weight, layer.trainable_embeddings["<cat-toy>"]]).double()
    assert sorted(set(ids.tolist()) & {start, start + 1}) == [start, start + 1]
    assert torch.allclose(layer(ids).double(), table[ids], atol=0)
    with pytest.raises(ConfigError, match="already has"):
        _dreambooth(pipeline_dir, "TextualInversion", placeholder_token="a")


def test_controlnet_convert_from_unet_moves_weights_onto_the_new_unet(pipeline_dir, tmp_path):
    from diffusers import UNet2DConditionModel

    torch.manual_seed(3)
    UNet2DConditionModel(**UNET).save_pretrained(str(tmp_path / "base"))
    base = dict(type="UNet2DConditionModel", from_pretrained=str(tmp_path / "base"))
    model = _dreambooth(pipeline_dir, "ControlStableDiffusion",
                        controlnet=dict(type="ControlNetModel", from_pretrained=str(pipeline_dir), subfolder="controlnet"),
                        init_cfg=dict(type="convert_from_unet", base_model=base))
    before = {key: value.clone().double() for key, value in model.controlnet.state_dict().items()}
    model.initialize()
    after, unet = model.controlnet.state_dict(), model.unet.state_dict()
    old_base = UNet2DConditionModel.from_pretrained(str(tmp_path / "base")).state_dict()
    shared = [key for key in before if key in unet and unet[key].shape == before[key].shape]
    assert len(shared) > 20 and bool(model.controlnet_initialized)
    for key in shared:  # controlnet + (unet − base), computed in float64
        expected = before[key] + unet[key].double() - old_base[key].double()
        assert torch.allclose(after[key].double(), expected, atol=1e-6), key
    assert torch.equal(after["controlnet_down_blocks.0.weight"], before["controlnet_down_blocks.0.weight"].float())


def test_token_merging_matches_its_definition_and_ratio_zero_changes_nothing(pipeline_dir):
    from mgx.plugins.models.stable_diffusion.token_merging import bipartite_merge

    torch.manual_seed(0)
    x = torch.randn(1, 16, 3, dtype=torch.float64)  # a 4 × 4 grid of tokens
    merge, unmerge = bipartite_merge(x, 4, 4, 2, 2, r=5, generator=None)
    # the definition: each 2×2 cell's first position is a destination; every other token (a source) picks
    # its most similar destination (cosine); the 5 sources most similar to theirs are averaged into it
    tokens = x[0]
    dst = [0, 2, 8, 10]
    src = [k for k in range(16) if k not in dst]

    def cosine(a: int, b: int) -> float:
        return float(tokens[a] @ tokens[b] / (tokens[a].norm() * tokens[b].norm()))

    best = {s: max(dst, key=lambda d: cosine(s, d)) for s in src}
    ranked = sorted(src, key=lambda s: -cosine(s, best[s]))
    moved, kept = ranked[:5], ranked[5:]
    averaged = {d: torch.stack([tokens[d]] + [tokens[s] for s in moved if best[s] == d]).mean(0) for d in dst}
    expected = torch.stack([tokens[s] for s in kept] + [averaged[d] for d in dst])
    assert torch.allclose(merge(x)[0], expected, atol=1e-12)
    restored = unmerge(merge(x))[0]  # every merged source takes its destination's value
    for k in range(16):
        want = averaged[k] if k in dst else averaged[best[k]] if k in moved else tokens[k]
        assert torch.allclose(restored[k], want, atol=1e-12), k
    # in a model: ratio 0 is the plain UNet, bit for bit; ratio 0.5 changes the samples, reproducibly
    plain = _dreambooth(pipeline_dir, "StableDiffusion").eval()
    untouched = _dreambooth(pipeline_dir, "StableDiffusion", tomesd_cfg=dict(ratio=0.0)).eval()
    merged = _dreambooth(pipeline_dir, "StableDiffusion", tomesd_cfg=dict(ratio=0.5)).eval()
    reference = plain.infer(["a cat"], seed=0)
    assert torch.equal(untouched.infer(["a cat"], seed=0), reference)
    sampled = merged.infer(["a cat"], seed=0)
    assert not torch.equal(sampled, reference) and torch.equal(merged.infer(["a cat"], seed=0), sampled)
    assert len(merged.merged_attention) == 4  # every block hooked; merging only at the full 8 × 8 (max_downsample=1)
