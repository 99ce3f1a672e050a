# StyleGAN2 (MMagic's model, names and training recipe) on scikit-learn's digits at 32×32,
# narrowed to run on a laptop CPU: 32 channels per layer (channel_max), 64-d styles, a 4-layer
# mapping network. MMagic's loss_config keys (lazy R1 every 16 iterations) and MMagic's RampUpEMA,
# tuned for a 2,000-iteration CPU run on this tiny data set (docs/models.md, "StyleGAN2 on the
# offline digits: measured"): R1 γ=1, no path-length regularization and no style mixing (both
# slow the first thousands of iterations down and cost ~half the step time), Adam lr 0.0025.
# Validation: SWD and MS-SSIM; test: the seed's metric set.
#   mgx run train configs/stylegan2_digits.py
#   mgx run test configs/stylegan2_digits.py work_dirs/stylegan2_digits/<checkpoint>.pth
# The test metrics need local weights: MGX_INCEPTION_STYLEGAN_PATH=…/inception-2015-12-05.pt
# (FID, PR) and MGX_VGG16_SCRIPT_PATH=…/vgg16.pt (PPL); see docs/metrics.md.

_d_reg_interval = 16
_d_reg_ratio = _d_reg_interval / (_d_reg_interval + 1)
_batch_size = 32
_lr = 0.0025
# R1 γ: MMagic's FFHQ configs use 10. Measured at 500 iterations here: γ=0.01 collapsed to one blob
# (SWD/avg 109, MS-SSIM 0.62), γ=1 kept diverse digit strokes (SWD/avg 65, MS-SSIM 0.27).
_r1_gamma = 1.0

model = dict(
    type='StyleGAN2',
    data_preprocessor=dict(type='DataPreprocessor', mean=127.5, std=127.5),
    generator=dict(type='StyleGANv2Generator', out_size=32, style_channels=64, num_mlps=4, channel_max=32,
                   channel_multiplier=2, lr_mlp=0.01, mix_prob=0.0, blur_kernel=[1, 3, 3, 1]),
    discriminator=dict(type='StyleGAN2Discriminator', in_size=32, channel_max=32, channel_multiplier=2,
                       mbstd_cfg=dict(group_size=4, channel_groups=1)),
    # StyleGAN3's schedule: 10-kimg half-life, ramped up as 5% of the images seen so far
    ema_config=dict(type='RampUpEMA', interval=1, ema_kimg=10., ema_rampup=0.05, batch_size=_batch_size),
    loss_config=dict(r1_loss_weight=_r1_gamma / 2. * _d_reg_interval, r1_interval=_d_reg_interval, norm_mode='HWC',
                     # path length off: weight 0, and an interval beyond max_iters so it is computed once (iteration 0)
                     g_reg_interval=100000, g_reg_weight=0., pl_batch_shrink=2),
)

train_dataloader = dict(
    batch_size=_batch_size,
    num_workers=0,
    dataset=dict(type='DigitsDataset', image_size=32, split='train', pipeline=[dict(type='PackInputs')]),
    sampler=dict(type='InfiniteSampler', shuffle=True),
    drop_last=True,
)

optim_wrapper = dict(
    generator=dict(optimizer=dict(type='Adam', lr=_lr, betas=(0., 0.99))),
    discriminator=dict(optimizer=dict(type='Adam', lr=_lr * _d_reg_ratio, betas=(0., 0.99 ** _d_reg_ratio))),
)

train_cfg = dict(by_epoch=False, max_iters=2000, val_begin=1, val_interval=500)

_val_metrics = [
    dict(type='SlicedWassersteinDistance', prefix='SWD', fake_nums=512, image_shape=(3, 32, 32)),
    dict(type='MultiScaleStructureSimilarity', prefix='MS-SSIM', fake_nums=512),
]
# The seed's metric block (MMagic's StyleGAN2 config) with StyleGAN3's Equivariance, small fake_nums.
_test_metrics = [
    dict(type='FrechetInceptionDistance', prefix='FID-Full', fake_nums=1000, inception_style='StyleGAN',
         sample_model='ema'),
    dict(type='PrecisionAndRecall', fake_nums=1000, prefix='PR-1K'),
    dict(type='PerceptualPathLength', fake_nums=200, prefix='ppl-w', space='W', latent_dim=64),
    dict(type='PerceptualPathLength', fake_nums=200, prefix='ppl-z', space='Z', latent_dim=64),
    dict(type='Equivariance', fake_nums=100, prefix='EQ',
         eq_cfg=dict(compute_eqt_int=True, compute_eqt_frac=True, compute_eqr=True)),
]
val_dataloader = dict(
    batch_size=128,
    num_workers=0,
    dataset=dict(type='DigitsDataset', image_size=32, split='val', pipeline=[dict(type='PackInputs')]),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_cfg = dict(type='MultiValLoop')
val_evaluator = dict(type='Evaluator', metrics=_val_metrics)

test_dataloader = val_dataloader
test_cfg = dict(type='MultiTestLoop')
test_evaluator = dict(type='Evaluator', metrics=_test_metrics)

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(type='CheckpointHook', interval=500, max_keep_ckpts=2, save_best='SWD/avg', rule='less',
                    save_last=True),
)
randomness = dict(seed=2026, deterministic=False)
