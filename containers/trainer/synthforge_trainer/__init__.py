"""SynthForge trainer: metric learning for player re-identification (seed 002, LaxAI) behind the
SageMaker training-container contract. See containers/trainer/README.md."""

__version__ = "0.1.0"
