# The seed's form: validation on a folder of images (BasicImageDataset +
# LoadImageFromFile + Resize + PackInputs, DefaultSampler, MultiValLoop), here
# beside a digits validation set. It reads data/digits-png, which one command writes:
#   mgx data digits data/digits-png --split val
#   mgx run train configs/dcgan_folder_val.py
# or point data_root at any folder of images:
#   mgx run train configs/dcgan_folder_val.py --cfg-options \
#       "val_dataloader.0.dataset.data_root=data/celeba-cropped/"
_base_ = './example_config.py'

# define metrics
metrics = [
    dict(
        type='SlicedWassersteinDistance',
        prefix='SWD-folder',
        fake_nums=512,
        image_shape=(3, 32, 32))
]

# define dataloaders: the folder one in the seed's exact keys, then the digits one
val_dataloader = [
    dict(
        batch_size=128,
        num_workers=0,
        dataset=dict(
            type='BasicImageDataset',
            data_root='data/digits-png/',
            pipeline=[
                dict(type='LoadImageFromFile', key='img'),
                dict(type='Resize', scale=(32, 32)),
                dict(type='PackInputs')
            ]),
        sampler=dict(type='DefaultSampler', shuffle=False),
        persistent_workers=False),
    dict(
        batch_size=128,
        dataset=dict(type='DigitsDataset', image_size=32, split='val', pipeline=[dict(type='PackInputs')]),
        sampler=dict(type='DefaultSampler', shuffle=False)),
]

# define val interval
train_cfg = dict(by_epoch=False, val_begin=1, val_interval=500)

# define val loop and evaluator: one evaluator per validation set
val_cfg = dict(type='MultiValLoop')
val_evaluator = [
    dict(type='Evaluator', metrics=metrics),
    dict(type='Evaluator', metrics=[dict(type='SWD', prefix='SWD-digits', fake_nums=512, image_shape=(3, 32, 32))]),
]
default_hooks = dict(checkpoint=dict(save_best='SWD-digits/avg'))
