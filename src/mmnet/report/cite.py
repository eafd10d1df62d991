"""report.json's ``cite`` and report.md's "How to cite": what a paper built on the run cites. The network's paper
(MMNet's, where the run trained MMNet), mmnet itself (CITATION.cff), and the papers of the data: each dataset's
(``data.releases``, the table of docs/datasets.md), the MEGC2019 paper for the composite and its leave-one-
dataset-out protocol, and the objective-classes paper for a scheme of objective classes. A run on mmnet's
synthetic faces and a lab's own data have no dataset paper. Only what was checked is given: no DOI or pages
where they could not be verified."""

from __future__ import annotations

from ..data.releases import papers_to_cite
from ..version import __version__

__all__ = ["MMNET_PAPER", "run_citations", "citation_lines", "fold_versions"]

#: the paper whose network mmnet implements (the README's BibTeX; CITATION.cff's reference)
MMNET_PAPER = ("Li, Sui, Zhu & Zhao, 2022, \"MMNet: Muscle Motion-Guided Network for Micro-Expression Recognition\", "
               "Proceedings of the Thirty-First International Joint Conference on Artificial Intelligence (IJCAI-22); "
               "arXiv:2201.05297")
#: what done.json records for MMNet itself (as report.protocol_text's)
_MMNET_NETWORK = "mmnet.model.mmnet:MMNet"


def fold_versions(run) -> list[str]:
    """The mmnet versions that trained a run's finished folds (a done.json of before they were recorded: env.json's),
    in the folds' order: two after a resume by a newer mmnet."""
    from ..run_folder import fold_software

    found = (fold_software(f.done, run.env).get("mmnet_version") for seed in sorted(run.folds) for f in run.folds[seed]
             if f.finished)
    return list(dict.fromkeys(str(v) for v in found if v))


def run_citations(report: dict, versions: list[str] | None = None) -> dict:
    """``cite``: ``network`` (the MMNet paper, or none for another network), ``software`` (mmnet, the version that
    wrote the report), ``data`` (the papers of the run's data, each once) and ``notes`` (what is not cited, why).
    ``versions``: the mmnet versions that trained the folds (:func:`fold_versions`; None: env.json's)."""
    protocol = report.get("protocol") or {}
    network = protocol.get("network") or {}
    trained = [t.get("name") for t in network.get("trained") or []]
    notes = []
    if network.get("factory") or any(name != _MMNET_NETWORK for name in trained):
        cited_network = []
        notes.append(f"the run trained {', '.join(trained) or network.get('factory')} (model.factory), not MMNet: "
                     "cite that network's own paper")
    else:
        cited_network = [MMNET_PAPER]
    env = report.get("environment") or {}
    if isinstance(env.get("synthetic_data"), dict):
        data = []
        notes.append("the run's data are mmnet's synthetic faces (`mmnet synth`): no dataset paper to cite (a "
                     "composite with real parts: their papers, docs/datasets.md)")
    else:
        composite = protocol.get("dataset") == "composite" or protocol.get("protocol") == "lodo"
        data = papers_to_cite(list(report.get("datasets") or []), composite=composite,
                              objective="objective" in str(protocol.get("scheme") or ""))
        if not data:
            notes.append("no published dataset: cite the source of your own clips")
    # the mmnets that trained the folds (a run resumed after an upgrade: two), else env.json's, else this one
    versions = versions or [env.get("mmnet_version") or __version__]
    scored = "" if versions == [__version__] else f"; this report by mmnet {__version__}"
    trained = ("which trained the run" if len(versions) == 1 else
               "which trained the run's folds (the Reproduce line names which trained which)")
    named = " and ".join([", ".join(versions[:-1]), versions[-1]] if len(versions) > 1 else versions)
    software = f"mmnet {named}, {trained}{scored} (cite it as its CITATION.cff says)"
    return {"network": cited_network, "software": software, "data": data, "notes": notes}


def citation_lines(report: dict) -> list[str]:
    """report.md's "How to cite" section (empty for a report.json of an mmnet without ``cite``)."""
    cite = report.get("cite")
    if not isinstance(cite, dict):
        return []
    lines = ["## How to cite", "", "The network, the software and the data this run used:", ""]
    lines += [f"- {paper}" for paper in cite.get("network") or []]
    lines.append(f"- {cite.get('software')}")
    lines += [f"- {paper}" for paper in cite.get("data") or []]
    lines += [f"- Not cited here: {note}." for note in cite.get("notes") or []]
    return [*lines, ""]
