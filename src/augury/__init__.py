"""Augury: a self-hosted prediction-market exchange for world events."""

__version__ = "0.1.0"
