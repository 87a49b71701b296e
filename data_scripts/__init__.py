"""Data-producing commands: synthetic corpus, distillation, preparation, experiments."""
