"""mgx: train, evaluate and compare PyTorch image and generative models."""

__version__ = "0.1.0"
