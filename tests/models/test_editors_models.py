"""BaseEditModel, SRGAN and ESRGAN: training steps, outputs, MMagic's schedule and losses, pretrained weights."""
import pytest
import torch

from mgx.core.errors import ConfigError
from mgx.core.engine.optim import build_optim_wrappers
from mgx.core.registry import build

CPU = torch.device("cpu")
UNIT = dict(type="DataPreprocessor", mean=[0., 0., 0.], std=[255., 255., 255.])
RRDB = dict(type="RRDBNet", in_channels=3, out_channels=3, mid_channels=8, num_blocks=1, growth_channels=4,
            upscale_factor=4)
VGG = dict(type="ModifiedVGG", in_channels=3, mid_channels=4, input_size=32)


def paired_batch(num=4, gt_size=32, scale=4, seed=0):
    from mgx.core.registry import build as build_component

    dataset = build_component(dict(type="PairedDigitsDataset", scale=scale, gt_size=gt_size,
                                   pipeline=[dict(type="PackInputs")]), "dataset")
    return dataset.get_batch(list(range(seed, seed + num)))


def adam(**names):
    return {name: dict(optimizer=dict(type="Adam", lr=lr)) for name, lr in names.items()}


def test_base_edit_model_learns_and_returns_pixel_range_predictions():
    model = build(dict(type="BaseEditModel",
                       generator=dict(type="EDSRNet", in_channels=3, out_channels=3, mid_channels=8, num_blocks=1,
                                      upscale_factor=2),
                       pixel_loss=dict(type="L1Loss", loss_weight=1.0, reduction="mean"),
                       train_cfg=dict(), test_cfg=dict(), data_preprocessor=UNIT), "model")
    optim = build_optim_wrappers(dict(optimizer=dict(type="Adam", lr=3e-3)), model, device=CPU, amp=False)
    batch = paired_batch(scale=2)
    assert batch["lq_img"].shape == (4, 3, 16, 16) and batch["gt_img"].shape == (4, 3, 32, 32)
    losses = [float(model.train_step(batch, optim)["loss"]) for _ in range(40)]
    assert losses[-1] < 0.6 * losses[0]
    out = model.eval().val_step(batch)
    assert out["pred_img"].shape == (4, 3, 32, 32) and out["pred_img"].dtype == torch.float32
    assert 0 <= float(out["pred_img"].min()) and float(out["pred_img"].max()) <= 255
    assert out["gt_img"] is batch["gt_img"]
    # the training loss is the pixel loss of the normalised output, as MMagic computes it
    with torch.no_grad():
        direct = (model.generator(batch["lq_img"].float() / 255) - batch["gt_img"].float() / 255).abs().mean()
    assert float(model.train().train_step(batch, build_optim_wrappers(
        dict(optimizer=dict(type="SGD", lr=0.0)), model, device=CPU, amp=False))["loss"]) == pytest.approx(float(direct))


def test_mmagic_packing_reads_inputs_and_size_mismatch_is_named():
    model = build(dict(type="BaseEditModel", generator=dict(type="SRCNNNet", channels=(3, 4, 4, 3), upscale_factor=4),
                       pixel_loss=dict(type="MSELoss"), data_preprocessor=UNIT), "model")
    batch = paired_batch(scale=4)
    mmagic_style = {"inputs": batch["lq_img"], "gt_img": batch["gt_img"]}  # PackInputs of img + gt
    assert model.val_step(mmagic_style)["pred_img"].shape == (4, 3, 32, 32)
    wrong = {"inputs": batch["lq_img"][..., :4, :4], "gt_img": batch["gt_img"]}
    optim = build_optim_wrappers(dict(optimizer=dict(type="SGD", lr=0.1)), model, device=CPU, amp=False)
    with pytest.raises(Exception, match="upscale_factor against the data's scale"):
        model.train_step(wrong, optim)
    with pytest.raises(ConfigError, match="train_cfg has unknown key"):
        build(dict(type="BaseEditModel", generator=dict(type="SRCNNNet"), pixel_loss=dict(type="L1Loss"),
                   train_cfg=dict(disc_steps=2)), "model")


def _esrgan(model_type="ESRGAN", **extra):
    cfg = dict(type=model_type, generator=RRDB, discriminator=VGG,
               pixel_loss=dict(type="L1Loss", loss_weight=1e-2, reduction="mean"),
               gan_loss=dict(type="GANLoss", gan_type="vanilla", loss_weight=5e-3, real_label_val=1.0,
                             fake_label_val=0),
               train_cfg=dict(), test_cfg=dict(), data_preprocessor=UNIT)
    cfg.update(extra)
    return build(cfg, "model")


@pytest.mark.parametrize("model_type", ["SRGAN", "ESRGAN"])
def test_gan_step_losses_match_direct_computation(model_type):
    """One step's logged losses equal the definitions evaluated on the same weights (D in train mode)."""
    torch.manual_seed(0)
    model = _esrgan(model_type)
    optim = build_optim_wrappers(adam(generator=1e-4, discriminator=1e-4), model, device=CPU, amp=False)
    batch = paired_batch()
    lq, gt = batch["lq_img"].float() / 255, batch["gt_img"].float() / 255
    gen_state = {k: v.clone() for k, v in model.generator.state_dict().items()}
    disc_state = {k: v.clone() for k, v in model.discriminator.state_dict().items()}
    log = model.train_step(batch, optim)
    assert set(log) == {"loss_pix", "loss_gan", "loss_d_real", "loss_d_fake"}

    reference = _esrgan(model_type)
    reference.generator.load_state_dict(gen_state)
    reference.discriminator.load_state_dict(disc_state)
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    with torch.no_grad():
        fake = reference.generator(lq)
        assert float(log["loss_pix"]) == pytest.approx(1e-2 * float((fake - gt).abs().mean()), rel=1e-5)
        real_g, fake_g = reference.discriminator(gt), reference.discriminator(fake)
        if model_type == "SRGAN":
            gan = bce(fake_g, torch.ones_like(fake_g))
        else:
            gan = (bce(fake_g - real_g.mean(), torch.ones_like(fake_g))
                   + bce(real_g - fake_g.mean(), torch.zeros_like(real_g))) / 2
        assert float(log["loss_gan"]) == pytest.approx(5e-3 * float(gan), rel=1e-4)
    # the D losses are computed after the G update, on its (detached) output of this step
    reference.generator.load_state_dict(model.generator.state_dict())
    with torch.no_grad():
        real_d, fake_d = reference.discriminator(gt), reference.discriminator(fake)
        if model_type == "SRGAN":
            d_real, d_fake = bce(real_d, torch.ones_like(real_d)), bce(fake_d, torch.zeros_like(fake_d))
        else:
            d_real = 0.5 * bce(real_d - fake_d.mean(), torch.ones_like(real_d))
            d_fake = 0.5 * bce(fake_d - real_d.mean(), torch.zeros_like(fake_d))
    assert float(log["loss_d_real"]) == pytest.approx(float(d_real), rel=1e-4)
    assert float(log["loss_d_fake"]) == pytest.approx(float(d_fake), rel=1e-4)


def test_disc_steps_schedule_and_frozen_discriminator_during_generator_update():
    model = _esrgan(train_cfg=dict(disc_steps=2, disc_init_steps=3, disc_repeat=2))
    optim = build_optim_wrappers(adam(generator=1e-3, discriminator=1e-3), model, device=CPU, amp=False)
    batch = paired_batch()
    ran_g = []
    for _ in range(6):
        before = [p.clone() for p in model.generator.parameters()]
        log = model.train_step(batch, optim)
        changed = any(not torch.equal(a, b) for a, b in zip(before, model.generator.parameters()))
        assert changed == ("loss_gan" in log)
        ran_g.append(changed)
    assert ran_g == [False, False, False, False, True, False]  # step % 2 == 0 and step ≥ 3
    assert int(model.state_dict()["step_counter"]) == 6  # in checkpoints: resume continues the schedule
    assert all(p.requires_grad for p in model.discriminator.parameters())


def test_pretrained_generator_from_an_mmagic_style_checkpoint(tmp_path):
    source = _esrgan("ESRGAN")
    checkpoint = tmp_path / "esrgan_psnr-12345678.pth"
    torch.save({"meta": {"note": "MMEngine layout"},
                "state_dict": {f"generator.{k}": v for k, v in source.generator.state_dict().items()}}, checkpoint)
    loaded = _esrgan("ESRGAN", generator=dict(RRDB, init_cfg=dict(type="Pretrained", checkpoint=str(checkpoint),
                                                                   prefix="generator.")))
    for key, value in source.generator.state_dict().items():
        assert torch.equal(loaded.generator.state_dict()[key], value), key
    with pytest.raises(ConfigError, match="does not fit RRDBNet"):
        _esrgan("ESRGAN", generator=dict(RRDB, num_blocks=2, init_cfg=dict(type="Pretrained", checkpoint=str(checkpoint),
                                                                           prefix="generator.")))
    with pytest.raises(ConfigError, match="does not exist"):
        _esrgan("ESRGAN", generator=dict(RRDB, init_cfg=dict(type="Pretrained", checkpoint=str(tmp_path / "no.pth"))))


def test_srgan_with_perceptual_loss_logs_it(tmp_path, monkeypatch):
    model = _esrgan("SRGAN", perceptual_loss=dict(type="PerceptualLoss", layer_weights={"2": 1.0}, vgg_type="vgg19",
                                                  perceptual_weight=1.0, style_weight=0, norm_img=False,
                                                  pretrained=None))
    optim = build_optim_wrappers(adam(generator=1e-4, discriminator=1e-4), model, device=CPU, amp=False)
    log = model.train_step(paired_batch(), optim)
    assert "loss_perceptual" in log and "loss_style" not in log and torch.isfinite(log["loss_perceptual"])
    assert not any(k.startswith("perceptual_loss.") for k in model.state_dict())
    with pytest.raises(ConfigError, match="optim_wrapper.discriminator"):
        model.train_step(paired_batch(), build_optim_wrappers(adam(generator=1e-4), model, device=CPU, amp=False))
