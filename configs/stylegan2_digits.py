# StyleGAN2 (MMagic's model, names and training recipe) on scikit-learn's digits at 32×32,
# narrowed to run on a laptop CPU: 32 channels per layer (channel_max), 64-d styles, a 4-layer
# mapping network. MMagic's loss_config (lazy R1 every 16 iterations, path-length regularization
# every 4), style mixing 0.9, and the in-model EMA as in MMagic's configs (2-kimg half-life here)
# (momentum = weight of the new weights). Validation: SWD and MS-SSIM; test: the seed's metric set.
#   mgx run train configs/stylegan2_digits.py
#   mgx run test configs/stylegan2_digits.py work_dirs/stylegan2_digits/<checkpoint>.pth
# The test metrics need local weights: MGX_INCEPTION_STYLEGAN_PATH=…/inception-2015-12-05.pt
# (FID, PR) and MGX_VGG16_SCRIPT_PATH=…/vgg16.pt (PPL); see docs/metrics.md.

_d_reg_interval = 16
_g_reg_interval = 4
_g_reg_ratio = _g_reg_interval / (_g_reg_interval + 1)
_d_reg_ratio = _d_reg_interval / (_d_reg_interval + 1)
_batch_size = 32
_ema_half_life = 2.  # kimg: shorter than MMagic's 10 because this run sees ~30 kimg in all
_r1_gamma = 0.1  # MMagic's FFHQ configs use 10; small images need far less (StyleGAN2-ADA uses ~0.01 at 32 px)

model = dict(
    type='StyleGAN2',
    data_preprocessor=dict(type='DataPreprocessor', mean=127.5, std=127.5),
    generator=dict(type='StyleGANv2Generator', out_size=32, style_channels=64, num_mlps=4, channel_max=32,
                   channel_multiplier=2, lr_mlp=0.01, mix_prob=0.9, blur_kernel=[1, 3, 3, 1]),
    discriminator=dict(type='StyleGAN2Discriminator', in_size=32, channel_max=32, channel_multiplier=2,
                       mbstd_cfg=dict(group_size=4, channel_groups=1)),
    ema_config=dict(type='ExponentialMovingAverage', interval=1,
                    momentum=1. - (0.5 ** (_batch_size / (_ema_half_life * 1000.)))),
    loss_config=dict(r1_loss_weight=_r1_gamma / 2. * _d_reg_interval, r1_interval=_d_reg_interval, norm_mode='HWC',
                     g_reg_interval=_g_reg_interval, g_reg_weight=2. * _g_reg_interval, pl_batch_shrink=2),
)

train_dataloader = dict(
    batch_size=_batch_size,
    num_workers=0,
    dataset=dict(type='DigitsDataset', image_size=32, split='train', pipeline=[dict(type='PackInputs')]),
    sampler=dict(type='InfiniteSampler', shuffle=True),
    drop_last=True,
)

optim_wrapper = dict(
    generator=dict(optimizer=dict(type='Adam', lr=0.002 * _g_reg_ratio, betas=(0., 0.99 ** _g_reg_ratio))),
    discriminator=dict(optimizer=dict(type='Adam', lr=0.002 * _d_reg_ratio, betas=(0., 0.99 ** _d_reg_ratio))),
)

train_cfg = dict(by_epoch=False, max_iters=1000, val_begin=1, val_interval=250)

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
    checkpoint=dict(type='CheckpointHook', interval=250, max_keep_ckpts=2, save_best='SWD/avg', rule='less',
                    save_last=True),
)
randomness = dict(seed=2026, deterministic=False)
