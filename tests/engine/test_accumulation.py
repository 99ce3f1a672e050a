"""OptimWrapper's gradient accumulation: ``accumulative_counts=N`` steps on the mean of N micro-batch
gradients (float64 reference); without accumulation the step's gradient is the plain backward's, bit for bit
(no division node is added)."""
from __future__ import annotations

import torch

from mgx.core.engine.optim import OptimWrapper


def _problem():
    generator = torch.Generator().manual_seed(0)
    weight = torch.randn(3, 4, generator=generator, dtype=torch.float64)
    batches = [torch.randn(5, 4, generator=generator, dtype=torch.float64) for _ in range(2)]
    return weight, batches


def _loss(weight, batch):
    return (batch @ weight.T).square().mean()


def test_accumulated_step_uses_the_mean_gradient() -> None:
    weight, batches = _problem()
    param = torch.nn.Parameter(weight.clone())
    wrapper = OptimWrapper(torch.optim.SGD([param], lr=0.5), device=torch.device("cpu"), accumulative_counts=2)
    wrapper.update_params(_loss(param, batches[0]))
    assert torch.equal(param.detach(), weight)  # the first micro-step only accumulates
    wrapper.update_params(_loss(param, batches[1]))
    # d/dW mean((b Wᵀ)²) = 2 (b Wᵀ)ᵀ b / (rows × outputs)
    grads = [2 * (b @ weight.T).T @ b / (b.shape[0] * weight.shape[0]) for b in batches]
    expected = weight - 0.5 * (grads[0] + grads[1]) / 2
    assert torch.allclose(param.detach(), expected, rtol=0, atol=1e-12)


def test_without_accumulation_the_gradient_is_the_plain_backward() -> None:
    weight, batches = _problem()
    param, plain = torch.nn.Parameter(weight.float()), torch.nn.Parameter(weight.float())
    seen = []
    param.register_hook(lambda grad: seen.append(grad.clone()))
    wrapper = OptimWrapper(torch.optim.SGD([param], lr=0.5), device=torch.device("cpu"))
    wrapper.update_params(_loss(param, batches[0].float()))
    _loss(plain, batches[0].float()).backward()
    assert torch.equal(seen[0], plain.grad)
    assert torch.equal(param.detach(), (plain - 0.5 * plain.grad).detach())
