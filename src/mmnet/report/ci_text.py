"""What report.md says a bootstrap interval resamples, by protocol (LOSO, LODO) and the datasets it holds."""

from __future__ import annotations

__all__ = ["report_protocol", "resampled_words"]


def report_protocol(report: dict) -> str:
    """The run's data.protocol, "loso" or "lodo" (LOSO for reports of older versions that lack it)."""
    return ((report.get("protocol") or {}).get("protocol") or (report.get("config_summary") or {}).get(
        "data.protocol") or "loso")


def resampled_words(ci: dict, protocol: str) -> str:
    """What the bootstrap resamples: subjects with all their samples, within each dataset where there are several
    (a stratified bootstrap, as the pooled score weighs each dataset by its samples); LODO's caveat."""
    within = (" within each dataset, each keeping its number of subjects (stratified by dataset: every resample "
              "holds each dataset's share, as the pooled score does)" if ci["subjects"].get("stratified_by") else "")
    if protocol == "lodo":
        return ("Subjects are resampled with all their samples" + within + "; resampling single samples, the "
                "second line, ignores that the samples of one subject are not independent. Each held-out dataset "
                "is scored by a single model, trained on the other datasets: the intervals are conditional on "
                "these held-out datasets and their models, and say nothing about how a model does on a new dataset.")
    return ("Subjects are resampled with all their samples (the LOSO unit: samples of one subject are not "
            "independent)" + within + "; resampling single samples, the second line, ignores that and is narrower "
            "when subjects differ.")

