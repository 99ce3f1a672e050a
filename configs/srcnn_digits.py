# The paired (restoration) workflow: SRCNN learns to undo a ×2 bicubic
# down/up-scaling of the digits, validated with PSNR, SSIM and MAE.
#   mgx run train configs/srcnn_digits.py

model = dict(type='SRCNN', channels=3, hidden=(32, 16), kernel_sizes=(9, 1, 5), loss='l1')

pipeline = [dict(type='DegradeForRestoration', scale=2, key='img', out_key='lq'), dict(type='PackInputs')]
train_dataloader = dict(
    batch_size=32,
    dataset=dict(type='DigitsDataset', image_size=32, split='train', pipeline=pipeline),
    sampler=dict(type='InfiniteSampler', shuffle=True),
    drop_last=True,
)
optim_wrapper = dict(generator=dict(optimizer=dict(type='Adam', lr=1e-3)))
param_scheduler = dict(type='CosineAnnealingLR', T_max=600, eta_min=1e-5)
train_cfg = dict(by_epoch=False, max_iters=600, val_begin=1, val_interval=200)

val_dataloader = dict(
    batch_size=64,
    dataset=dict(type='DigitsDataset', image_size=32, split='val', pipeline=pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='Evaluator', metrics=[dict(type='PSNR'), dict(type='SSIM'), dict(type='MAE')])
test_dataloader = val_dataloader
test_evaluator = val_evaluator

default_hooks = dict(logger=dict(interval=50),
                     checkpoint=dict(interval=200, max_keep_ckpts=2, save_best='PSNR', rule='greater'))
randomness = dict(seed=2026)
