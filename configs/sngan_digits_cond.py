# SNGAN with a projection discriminator (MMagic's SNGAN: SNGANGenerator / ProjDiscriminator, hinge loss,
# spectral norm) class-conditional on the ten digits of scikit-learn's digits set (8×8 scans) at 16×16:
# the sample grids show one class per row (row r: digit r mod 10). Narrowed for a CPU: MMagic's 32-px
# layout with one up-/down-sampling stage fewer (channels_cfg), 32 channels per block (MMagic's CIFAR-10
# config: 256/128), batch 32, discriminator_steps=2 instead of MMagic's 5. DigitsDataset names
# its class 'label'; the KeyMapper copies it to MMagic's 'gt_label', which the conditional GANs read.
#   mgx run train configs/sngan_digits_cond.py      (docs/models.md, "SNGAN on the digits, by class")
#   mgx run test configs/sngan_digits_cond.py work_dirs/sngan_digits_cond/<checkpoint>.pth
_num_classes = 10
_pipeline = [dict(type='KeyMapper', mapping=dict(gt_label='label'), remapping=dict(gt_label='gt_label')),
             dict(type='PackInputs')]

model = dict(
    type='SNGAN',
    num_classes=_num_classes,
    data_preprocessor=dict(type='DataPreprocessor'),
    generator=dict(type='SNGANGenerator', output_scale=16, channels_cfg=[1, 1], base_channels=32, noise_size=64,
                   num_classes=_num_classes, init_cfg=dict(type='studio')),
    discriminator=dict(type='ProjDiscriminator', input_scale=16, channels_cfg=[1, 1], downsample_cfg=[True, False],
                       base_channels=32, num_classes=_num_classes, init_cfg=dict(type='studio')),
    discriminator_steps=2)

train_dataloader = dict(
    batch_size=32,
    num_workers=0,
    dataset=dict(type='DigitsDataset', image_size=16, split='train', pipeline=_pipeline),
    sampler=dict(type='InfiniteSampler', shuffle=True),
    drop_last=True)

optim_wrapper = dict(
    generator=dict(optimizer=dict(type='Adam', lr=0.0002, betas=(0.0, 0.9))),
    discriminator=dict(optimizer=dict(type='Adam', lr=0.0002, betas=(0.0, 0.9))))

train_cfg = dict(by_epoch=False, max_iters=2000, val_begin=1, val_interval=500)

val_dataloader = dict(
    batch_size=128,
    num_workers=0,
    dataset=dict(type='DigitsDataset', image_size=16, split='val', pipeline=_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False))
val_evaluator = dict(metrics=[dict(type='SlicedWassersteinDistance', prefix='SWD', fake_nums=512,
                                   image_shape=(3, 16, 16), sample_model='orig')])
test_dataloader = val_dataloader
test_evaluator = val_evaluator

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(type='CheckpointHook', interval=500, max_keep_ckpts=2, save_best='SWD/avg', rule='less',
                    save_last=True))
randomness = dict(seed=2026, deterministic=False)
