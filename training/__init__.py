"""Training code for SCJD: datasets, distillation losses, training and evaluation loops."""
