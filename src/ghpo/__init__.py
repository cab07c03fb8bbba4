"""GHPO: Guided Hybrid Policy Optimization (arXiv 2507.10628) on TRL."""

__version__ = "0.1.0"
