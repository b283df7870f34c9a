"""The learner: losses, sequence log-probs, DeepSpeed ranks and checkpoints."""
