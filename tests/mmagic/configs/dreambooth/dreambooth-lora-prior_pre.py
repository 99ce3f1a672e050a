_base_ = 'dreambooth-lora.py'

# config for model
model = dict(prior_loss_weight=1, class_prior_prompt='a dog')
