"""GHPO: Guided Hybrid Policy Optimization (arXiv 2507.10628) on TRL.

>>> from ghpo import GHPOConfig, GHPOTrainer  # drop-ins for trl.GRPOConfig / trl.GRPOTrainer
"""

__version__ = "0.1.0"
__all__ = ["GHPOConfig", "GHPOTrainer", "__version__"]


def __getattr__(name):
    # Lazy: `import ghpo` (and `ghpo.guidance`) must not pull in torch and TRL.
    if name in ("GHPOConfig", "GHPOTrainer"):
        from . import trainer

        return getattr(trainer, name)
    raise AttributeError(f"module 'ghpo' has no attribute {name!r}")
