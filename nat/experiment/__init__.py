"""The end-to-end experiment (``nat-experiment``): why NAT needs distillation, measured.

Stages talk through files: each stage's commands, settings key and results are recorded in
``OUT/stages/<stage>.json``; a finished stage with the same key is skipped on re-run.
"""
