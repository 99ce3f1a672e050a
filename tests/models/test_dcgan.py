import pytest
import torch

from mgx.core.errors import ConfigError, MgxError
from mgx.core.engine.optim import OptimWrapper, OptimWrapperDict, build_optim_wrappers
from mgx.core.registry import build

CPU = torch.device("cpu")
TINY = dict(type="DCGAN", latent_dim=8, image_size=8, base_channels=8)


def adam_wrappers(model, lr=2e-4, amp=False):
    adam = dict(optimizer=dict(type="Adam", lr=lr, betas=(0.5, 0.999)))
    return build_optim_wrappers(dict(generator=adam, discriminator=adam), model, device=CPU, amp=amp)


def black_batch(num=16, size=8):
    return {"inputs": torch.zeros(num, 3, size, size, dtype=torch.uint8)}


def test_sample_shapes_range_and_noise_determinism():
    model = build(dict(type="DCGAN", latent_dim=16, image_size=16, base_channels=8), "model").eval()
    assert model.latent_dim == 16
    images = model.sample(5)
    assert images.shape == (5, 3, 16, 16) and images.dtype == torch.float32
    assert images.min() >= -1 and images.max() <= 1
    noise = torch.randn(4, 16)
    assert torch.equal(model.sample(noise=noise), model.sample(noise=noise))
    assert torch.allclose(model.sample(noise=noise)[2:], model.sample(noise=noise[2:]), atol=1e-6)  # eval: per-sample
    assert model.sample(4, noise=noise.view(4, 16, 1, 1)).shape == (4, 3, 16, 16)
    with pytest.raises(MgxError, match="noise must be N×16"):
        model.sample(noise=torch.randn(4, 3))
    with pytest.raises(MgxError, match="num=3"):
        model.sample(3, noise=noise)
    assert model.val_step({"inputs": torch.zeros(6, 3, 16, 16, dtype=torch.uint8), "sample_idx": torch.arange(6)}
                          )["fake_img"].shape == (6, 3, 16, 16)


@pytest.mark.parametrize("loss", ["bce", "hinge"])
def test_train_step_learns_the_data(loss):
    """On all-black data the discriminator's loss falls and the generator's output turns black."""
    model = build(dict(TINY, loss=loss), "model")
    optim = adam_wrappers(model, lr=1e-3)
    batch = black_batch()
    model.eval()
    assert abs(float(model.sample(64).mean())) < 0.1  # an untrained generator is grey on average
    model.train()
    history = [model.train_step(batch, optim) for _ in range(40)]
    assert set(history[0]) == {"loss_disc", "loss_disc_real", "loss_disc_fake", "loss_gen"}
    assert all(v.dim() == 0 and not v.requires_grad and torch.isfinite(v) for h in history for v in h.values())
    late_real = sum(float(h["loss_disc_real"]) for h in history[-10:]) / 10
    assert late_real < float(history[0]["loss_disc_real"])  # the discriminator learned what real data is
    model.eval()
    assert model.sample(64).mean() < -0.35, "the generator did not move towards the (black) data"
    assert all(p.requires_grad for p in model.discriminator.parameters())


def test_discriminator_gets_no_gradient_from_the_generator_update():
    model = build(TINY, "model")
    optim = adam_wrappers(model)
    disc_before = [p.detach().clone() for p in model.discriminator.parameters()]
    model.train_step(black_batch(), optim)
    assert all(p.grad is None for p in model.parameters())  # both optimizers stepped and zeroed
    changed = [not torch.equal(a, b) for a, b in zip(disc_before, model.discriminator.parameters())]
    assert all(changed)
    # steps counts: one optimizer step each per train_step by default
    assert optim["generator"].optimizer.state[next(model.generator.parameters())]["step"] == 1
    model2 = build(dict(TINY, disc_steps=3, gen_steps=2), "model")
    optim2 = adam_wrappers(model2)
    model2.train_step(black_batch(), optim2)
    assert optim2["discriminator"].optimizer.state[next(model2.discriminator.parameters())]["step"] == 3
    assert optim2["generator"].optimizer.state[next(model2.generator.parameters())]["step"] == 2


def test_train_step_under_cpu_autocast_and_clear_errors():
    model = build(TINY, "model")
    out = model.train_step(black_batch(4), adam_wrappers(model, amp=True))
    assert all(torch.isfinite(v) for v in out.values())
    with pytest.raises(MgxError, match=r"batch\['inputs'\]"):
        model.train_step({"gt_img": torch.zeros(2, 3, 8, 8)}, adam_wrappers(model))
    with pytest.raises(ConfigError, match="power of two"):
        build(dict(type="DCGAN", image_size=24), "model")
    with pytest.raises(ConfigError, match="loss"):
        build(dict(type="DCGAN", loss="wgan"), "model")
    only = OptimWrapperDict({"model": OptimWrapper(torch.optim.Adam(model.parameters()), device=CPU)})
    with pytest.raises(KeyError, match="discriminator"):
        model.train_step(black_batch(2), only)
