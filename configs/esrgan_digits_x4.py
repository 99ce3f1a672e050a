# ESRGAN ×4 on the scikit-learn digits (8 px -> 32 px), MMagic's form: RRDBNet generator,
# ModifiedVGG discriminator (input_size=32, an mgx argument; MMagic fixes 128),
# relativistic average GAN loss + pixel loss. Runs offline on a CPU.
#   mgx run train configs/esrgan_digits_x4.py
#
# MMagic's ESRGAN also uses PerceptualLoss on ImageNet VGG19 features and starts
# from its PSNR-oriented model; to do the same here (needs the VGG19 file, see
# docs/models.md):
#   perceptual_loss=dict(type='PerceptualLoss', layer_weights={'34': 1.0}, vgg_type='vgg19',
#                        perceptual_weight=1.0, style_weight=0, norm_img=False),
#   generator=dict(..., init_cfg=dict(type='Pretrained', checkpoint='work_dirs/psnr/best.pth',
#                                     prefix='generator.')),

scale = 4
model = dict(
    type='ESRGAN',
    generator=dict(
        type='RRDBNet',
        in_channels=3,
        out_channels=3,
        mid_channels=16,
        num_blocks=2,
        growth_channels=8,
        upscale_factor=scale),
    discriminator=dict(type='ModifiedVGG', in_channels=3, mid_channels=8, input_size=32),
    pixel_loss=dict(type='L1Loss', loss_weight=1.0, reduction='mean'),
    gan_loss=dict(type='GANLoss', gan_type='vanilla', loss_weight=5e-3, real_label_val=1.0, fake_label_val=0),
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
optim_wrapper = dict(
    generator=dict(optimizer=dict(type='Adam', lr=5e-4, betas=(0.9, 0.999))),
    discriminator=dict(optimizer=dict(type='Adam', lr=5e-4, betas=(0.9, 0.999))),
)
param_scheduler = dict(type='MultiStepLR', by_epoch=False, milestones=[300], gamma=0.5)

default_hooks = dict(logger=dict(interval=50),
                     checkpoint=dict(interval=100, max_keep_ckpts=2, save_best='PSNR', rule='greater'))
randomness = dict(seed=2026)
