# mgx's default job: DCGAN on scikit-learn's handwritten digits (ships with
# scikit-learn, so it runs offline), 32×32, iteration-based, with EMA,
# validation (SWD and MS-SSIM) and best-checkpoint selection.
#   mgx run train configs/example_config.py
#   mgx run test configs/example_config.py work_dirs/example_config/<best checkpoint>.pth

model = dict(type='DCGAN', latent_dim=64, image_size=32, channels=3, base_channels=16, loss='hinge')
ema_config = dict(momentum=0.999, interval=1)

train_dataloader = dict(
    batch_size=64,
    num_workers=0,
    dataset=dict(type='DigitsDataset', image_size=32, split='train', pipeline=[dict(type='PackInputs')]),
    sampler=dict(type='InfiniteSampler', shuffle=True),
    drop_last=True,
)

optim_wrapper = dict(
    generator=dict(optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999))),
    discriminator=dict(optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999))),
)

train_cfg = dict(by_epoch=False, max_iters=1000, val_begin=1, val_interval=500)

metrics = [
    dict(type='SlicedWassersteinDistance', prefix='SWD', fake_nums=512, image_shape=(3, 32, 32)),
    dict(type='MultiScaleStructureSimilarity', prefix='MS-SSIM', fake_nums=512),
]
val_dataloader = dict(
    batch_size=128,
    num_workers=0,
    dataset=dict(type='DigitsDataset', image_size=32, split='val', pipeline=[dict(type='PackInputs')]),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_cfg = dict(type='MultiValLoop')
val_evaluator = dict(type='Evaluator', metrics=metrics)

test_dataloader = val_dataloader
test_cfg = dict(type='MultiTestLoop')
test_evaluator = val_evaluator

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(type='CheckpointHook', interval=500, max_keep_ckpts=2, save_best='SWD/avg', rule='less',
                    save_last=True),
)
randomness = dict(seed=2026, deterministic=False)
