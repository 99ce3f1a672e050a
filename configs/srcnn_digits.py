# The paired (restoration) workflow in MMagic's form: BaseEditModel + SRCNNNet learns
# ×2 super-resolution of the digits (16 px -> 32 px), validated with PSNR, SSIM and MAE.
#   mgx run train configs/srcnn_digits.py

scale = 2
model = dict(
    type='BaseEditModel',
    generator=dict(type='SRCNNNet', channels=(3, 32, 16, 3), kernel_sizes=(9, 1, 5), upscale_factor=scale),
    pixel_loss=dict(type='L1Loss', loss_weight=1.0, reduction='mean'),
    data_preprocessor=dict(type='DataPreprocessor', mean=[0., 0., 0.], std=[255., 255., 255.]),
)

pipeline = [dict(type='PackInputs')]
train_dataloader = dict(
    batch_size=32,
    dataset=dict(type='PairedDigitsDataset', scale=scale, gt_size=32, split='train', pipeline=pipeline),
    sampler=dict(type='InfiniteSampler', shuffle=True),
    drop_last=True,
)
optim_wrapper = dict(generator=dict(optimizer=dict(type='Adam', lr=1e-3)))
param_scheduler = dict(type='CosineAnnealingLR', T_max=600, eta_min=1e-5)
train_cfg = dict(by_epoch=False, max_iters=600, val_begin=1, val_interval=200)

val_dataloader = dict(
    batch_size=64,
    dataset=dict(type='PairedDigitsDataset', scale=scale, gt_size=32, split='val', pipeline=pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='Evaluator', metrics=[
    dict(type='PSNR', crop_border=scale), dict(type='SSIM', crop_border=scale), dict(type='MAE')])
test_dataloader = val_dataloader
test_evaluator = val_evaluator

default_hooks = dict(logger=dict(interval=50),
                     checkpoint=dict(interval=200, max_keep_ckpts=2, save_best='PSNR', rule='greater'))
randomness = dict(seed=2026)
