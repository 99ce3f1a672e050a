# config for model

model = dict(
    type='DiffusionPipeline',
    from_pretrained='stabilityai/stable-diffusion-xl-base-1.0')
