"""U-Net models, training, tiled inference, metrics and model files (PyTorch)."""
