# EDSR ×2 on the scikit-learn digits (16 px -> 32 px), MMagic's BaseEditModel form.
# Runs offline on a CPU in a few minutes; PSNR/SSIM curves and the sample grids
# (input upsampled | output | ground truth) go to the MLflow run.
#   mgx run train configs/edsr_digits_x2.py

scale = 2
model = dict(
    type='BaseEditModel',
    generator=dict(
        type='EDSRNet',
        in_channels=3,
        out_channels=3,
        mid_channels=32,
        num_blocks=4,
        upscale_factor=scale,
        res_scale=1,
        rgb_mean=[0.4488, 0.4371, 0.4040],
        rgb_std=[1.0, 1.0, 1.0]),
    pixel_loss=dict(type='L1Loss', loss_weight=1.0, reduction='mean'),
    train_cfg=dict(),
    test_cfg=dict(),
    data_preprocessor=dict(type='DataPreprocessor', mean=[0., 0., 0.], std=[255., 255., 255.]),
)

train_dataloader = dict(
    batch_size=16,
    drop_last=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='PairedDigitsDataset', scale=scale, gt_size=32, split='train',
                 pipeline=[dict(type='PackInputs')]),
)
val_dataloader = dict(
    batch_size=60,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='PairedDigitsDataset', scale=scale, gt_size=32, split='val',
                 pipeline=[dict(type='PackInputs')]),
)
val_evaluator = dict(type='Evaluator', metrics=[
    dict(type='MAE'),
    dict(type='PSNR', crop_border=scale),
    dict(type='SSIM', crop_border=scale),
])
test_dataloader = val_dataloader
test_evaluator = val_evaluator

train_cfg = dict(by_epoch=False, max_iters=400, val_begin=1, val_interval=50)
optim_wrapper = dict(optimizer=dict(type='Adam', lr=5e-4, betas=(0.9, 0.999)))
param_scheduler = dict(type='MultiStepLR', by_epoch=False, milestones=[300], gamma=0.5)

default_hooks = dict(logger=dict(interval=50),
                     checkpoint=dict(interval=100, max_keep_ckpts=2, save_best='PSNR', rule='greater'))
randomness = dict(seed=2026)
