"""Datasets: the common sample record, loaders per dataset, label schemes and the frame cache."""

from .sample import Issue, Sample

__all__ = ["Sample", "Issue"]
