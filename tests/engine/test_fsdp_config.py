"""model_wrapper_cfg type FSDP: the option mapping and refusals, and the DCP checkpoint format in
one process (no process group): written, read whole, loaded back, found by the checkpoint owner."""
import pytest
import torch

from mgx.core.distributed.fsdp import (check_fsdp_run, fsdp_options, full_weights, is_fsdp, load_sharded,
                                       save_sharded)
from mgx.core.engine.checkpoint import load_checkpoint, remove_checkpoint, save_checkpoint
from mgx.core.engine.checkpoint_state import CheckpointMeta, CheckpointState, SessionState
from mgx.core.engine.optim import OptimWrapper, OptimWrapperDict, SchedulerSet
from mgx.core.errors import ConfigError


def test_fsdp_types_and_the_mapped_options():
    assert all(is_fsdp({"type": name}) for name in ("FSDP", "MMFullyShardedDataParallel",
                                                    "FullyShardedDataParallel"))
    assert not is_fsdp({"type": "MMDistributedDataParallel"}) and not is_fsdp(None)
    assert fsdp_options({"type": "FSDP"}) == {"reshard_after_forward": True}
    assert fsdp_options({"type": "FSDP", "sharding_strategy": "SHARD_GRAD_OP"}) == {"reshard_after_forward": False}
    assert fsdp_options({"type": "FSDP", "reshard_after_forward": False, "use_orig_params": True,
                         "limit_all_gathers": True}) == {"reshard_after_forward": False}


@pytest.mark.parametrize("options, named", [
    ({"sharding_strategy": "NO_SHARD"}, "sharding_strategy='NO_SHARD'"),
    ({"sharding_strategy": "HYBRID_SHARD"}, "sharding_strategy='HYBRID_SHARD'"),
    ({"cpu_offload": True}, "model_wrapper_cfg.cpu_offload"),
    ({"mixed_precision": {"param_dtype": "bf16"}}, "AmpOptimWrapper"),
    ({"auto_wrap_policy": "size"}, "model_wrapper_cfg.auto_wrap_policy"),
    ({"use_orig_params": False}, "use_orig_params=False"),
    ({"sharding_strategy": "FULL_SHARD", "reshard_after_forward": False}, "contradicts"),
    ({"reshard_after_forward": 2}, "reshard_after_forward must be True or False"),
])
def test_options_fsdp2_lacks_are_config_errors_naming_the_key(options, named):
    with pytest.raises(ConfigError, match=named.replace("(", r"\(").replace("[", r"\[")):
        fsdp_options({"type": "MMFullyShardedDataParallel", **options})


def test_an_ema_is_refused_naming_its_key():
    with pytest.raises(ConfigError, match="^ema_config is not supported"):
        check_fsdp_run({"ema_config": {"momentum": 0.001}})
    with pytest.raises(ConfigError, match="^model.ema_config is not supported"):
        check_fsdp_run({"model": {"type": "BaseGAN", "ema_config": {"type": "ExponentialMovingAverage"}}})
    check_fsdp_run({"model": {"type": "BaseEditModel"}})


class _Model(torch.nn.Module):
    def __init__(self, seed: int) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.generator = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Conv2d(4, 3, 1))


def _trained(seed: int):
    model = _Model(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.generator(torch.rand(2, 3, 8, 8)).square().mean().backward()
    optimizer.step()
    return model, optimizer


def test_dcp_folder_round_trip_in_one_process(tmp_path):
    model, optimizer = _trained(0)
    folder = tmp_path / "iter_1.dcp"
    save_sharded(model, {"model": optimizer}, folder)
    assert (folder / ".metadata").is_file() and not (tmp_path / "iter_1.dcp.tmp").exists()
    whole = full_weights(folder)
    assert whole.keys() == model.state_dict().keys()
    assert all(torch.equal(whole[k], v) for k, v in model.state_dict().items())

    other, other_optimizer = _trained(1)  # different weights and Adam moments, overwritten by the load
    load_sharded(other, {"model": other_optimizer}, folder)
    assert all(torch.equal(other.state_dict()[k], v) for k, v in model.state_dict().items())
    for param, other_param in zip(model.parameters(), other.parameters()):
        for moment in ("exp_avg", "exp_avg_sq", "step"):
            assert torch.equal(optimizer.state[param][moment], other_optimizer.state[other_param][moment])


def test_a_sharded_checkpoint_file_names_its_folder_and_reads_whole(tmp_path):
    model, optimizer = _trained(0)
    optim = OptimWrapperDict({"model": OptimWrapper(optimizer, device=torch.device("cpu"))})
    schedulers = SchedulerSet(None, optim, False, iters_per_epoch=1)
    path = tmp_path / "iter_1.pth"
    save_sharded(model, {"model": optimizer}, tmp_path / "iter_1.dcp")
    state = CheckpointState.capture(meta=CheckpointMeta(iteration=1), model_state=model.state_dict(), ema=None,
                                    optim=optim, schedulers=schedulers, session=SessionState(),
                                    sharded="iter_1.dcp").to_dict()
    assert state["sharded"] == "iter_1.dcp" and state["model"] == {}
    assert state["optimizers"]["model"]["optimizer"] is None and "micro_steps" in state["optimizers"]["model"]
    save_checkpoint(state, path)
    assert load_checkpoint(path, whole_weights=False)["model"] == {}  # a resume reads its own shards
    whole = load_checkpoint(path)["model"]  # to evaluate, or load_from
    assert all(torch.equal(whole[k], v) for k, v in model.state_dict().items())

    other, other_optimizer = _trained(1)
    other_optim = OptimWrapperDict({"model": OptimWrapper(other_optimizer, device=torch.device("cpu"))})
    CheckpointState.from_dict(load_checkpoint(path, whole_weights=False), str(path)).restore(
        model=other, ema=None, optim=other_optim, schedulers=schedulers, rank=0, source=str(path))
    assert all(torch.equal(other.state_dict()[k], v) for k, v in model.state_dict().items())

    remove_checkpoint(path)
    assert not path.exists() and not (tmp_path / "iter_1.dcp").exists()


def test_the_run_reads_fsdp_from_model_wrapper_cfg():
    from mgx.core.run.prepared import PreparedRun

    assert PreparedRun({"model_wrapper_cfg": {"type": "MMDistributedDataParallel"}}).fsdp_options is None
    assert PreparedRun({}).fsdp_options is None
    sharded = PreparedRun({"model_wrapper_cfg": {"type": "MMFullyShardedDataParallel",
                                                 "sharding_strategy": "SHARD_GRAD_OP"}})
    assert sharded.fsdp_options == {"reshard_after_forward": False}
    with pytest.raises(ConfigError, match="^ema_config is not supported"):
        PreparedRun({"model_wrapper_cfg": {"type": "FSDP"}, "ema_config": {"momentum": 0.01}}).fsdp_options


def test_an_optimizer_that_has_not_stepped_is_not_saved_nor_stepped_by_the_save(tmp_path):
    """torch's get_optimizer_state_dict steps a state-less optimizer with zero gradients (Adam's step
    count becomes 1): a GAN checkpoint before the generator's first step must not do that."""
    model, optimizer = _trained(0)
    extra = torch.nn.Linear(2, 2)
    model.discriminator = extra
    fresh = torch.optim.Adam(extra.parameters(), lr=1e-2)
    save_sharded(model, {"generator": optimizer, "discriminator": fresh}, tmp_path / "iter_1.dcp")
    assert not fresh.state
    other, other_optimizer = _trained(1)
    other.discriminator = torch.nn.Linear(2, 2)
    other_fresh = torch.optim.Adam(other.discriminator.parameters(), lr=1e-2)
    load_sharded(other, {"generator": other_optimizer, "discriminator": other_fresh}, tmp_path / "iter_1.dcp")
    assert not other_fresh.state and torch.equal(other.generator[0].weight, model.generator[0].weight)
