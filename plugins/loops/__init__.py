"""The engine's loops as selectable types (``train_cfg``/``val_cfg``/``test_cfg`` ``type=``)."""
from mgx.core.hookspecs import hookimpl


@hookimpl
def mgx_register_loops(register):
    from mgx.core.engine.loops import (EpochBasedTrainLoop, IterBasedTrainLoop, MultiTestLoop, MultiValLoop, TestLoop,
                                ValLoop)

    for loop in (IterBasedTrainLoop, EpochBasedTrainLoop, ValLoop, MultiValLoop, TestLoop, MultiTestLoop):
        register(loop)
