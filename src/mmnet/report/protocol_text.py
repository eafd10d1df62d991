"""What a report says of the protocol: its title and protocol line (dataset, label scheme, LOSO or LODO, the
MEGC2019 list and its rows), LODO's per-dataset heading, and the data's warnings of issues.csv in its Issues."""

from __future__ import annotations

from collections import defaultdict

from ..model.config import variant_name
from .ci_text import report_protocol
from .parts import dataset_order
from .run_reader import Run, config_value

__all__ = ["protocol_summary", "datasets_tested", "data_issue_lines", "report_title", "protocol_line", "network_line",
           "per_dataset_heading", "OFFICIAL_ROWS", "MMNET_NETWORK"]

#: rows of the official MEGC2019 list (data.composite.OFFICIAL_ROWS; not imported: the report reads run folders)
OFFICIAL_ROWS = 442
_SHORT = {"loso": "LOSO", "lodo": "LODO"}
_EXAMPLES = 3
#: what done.json records for MMNet itself (mmnet.model.factory.network_name; not imported: the report reads files)
MMNET_NETWORK = "mmnet.model.mmnet:MMNet"


def protocol_summary(run: Run, folds_per_seed: int) -> dict:
    """report.json's "protocol": dataset, scheme, protocol, the datasets, subjects or datasets left out one at a
    time, the composite list's rows (None where the run did not record them) and LODO's train/test split."""
    protocol = config_value(run.config, "data.protocol") or "loso"
    datasets = dataset_order(run.samples["dataset"])
    listed = run.env.get("listed_rows") or {}
    out = {"dataset": config_value(run.config, "data.dataset"), "scheme": config_value(run.config, "data.scheme"),
           "protocol": protocol, "datasets": datasets, "folds_per_seed": folds_per_seed,
           "list": next(({"file": name, "rows": rows, "official_rows": OFFICIAL_ROWS} for name, rows in listed.items()),
                        None),
           "part_frames": run.env.get("part_frames")}  # None where the run did not record them
    if protocol == "lodo":
        out["lodo"] = [{"tested_on": d, "trained_on": [o for o in datasets if o != d]} for d in datasets]
    out["network"] = _network(run)
    return out


def _network(run: Run) -> dict:
    """The network(s) the finished folds trained (done.json's "network" and "parameters"; runs of an mmnet before
    them record none: MMNet, the only network then), the model.factory of config.yaml and the MMNet variant its model
    section builds ("MMNet without PC", as the model card and ``mmnet info`` name it; None with a model.factory,
    whose network may read the section otherwise)."""
    trained = {}
    for folds in run.folds.values():
        for fold in folds:
            if fold.done and isinstance(fold.done.get("network"), str):
                trained[fold.done["network"]] = fold.done.get("parameters")
    factory = config_value(run.config, "model.factory") or ""
    model = run.config.get("model") if isinstance(run.config, dict) else None
    return {"factory": factory, "variant": None if factory else variant_name(model if isinstance(model, dict) else {}),
            "trained": [{"name": n, "parameters": p} for n, p in sorted(trained.items())]}


def _network_names(report: dict) -> list[str]:
    net = (report.get("protocol") or {}).get("network") or {}
    return [t["name"] for t in net.get("trained") or []]


def report_title(report: dict) -> str:
    """"MMNet LOSO report: RUN"; another network's class name instead of MMNet's (model.factory's, a subclass)."""
    p = report.get("protocol") or {}
    names = _network_names(report)
    label = "+".join(n.rpartition(":")[2] for n in names) if names and names != [MMNET_NETWORK] else "MMNet"
    return f"{label} {_SHORT.get(p.get('protocol', 'loso'), str(p.get('protocol')).upper())} report: {report['run']}"


def network_line(report: dict) -> str | None:
    """"Network: MMNet without PC, mmnet.model.mmnet:MMNet (1234 parameters)": MMNet's variant (an ablation named as
    the model card names it), then the class; for another network, how the Reproduce line can rebuild it. None for a
    report of an mmnet that did not record it."""
    net = (report.get("protocol") or {}).get("network")
    if not net or not net.get("trained"):
        return None
    trained = ", ".join(f"{t['name']} ({t['parameters']:,} parameters)" if isinstance(t.get("parameters"), int)
                        else t["name"] for t in net["trained"])
    factory, names = net.get("factory"), _network_names(report)
    if names == [MMNET_NETWORK] and net.get("variant"):
        trained = f"{net['variant']}, {trained}"
    if factory:
        note = (f" (built by model.factory {factory!r}: rerunning the configuration needs its module importable, "
                "installed or on PYTHONPATH)")
    elif names != [MMNET_NETWORK]:
        note = (" (NOT what config.yaml builds: its model.factory is empty, so rerunning it trains MMNet; the "
                "network was put in place by other means. Set model.factory to reproduce this run)")
    else:
        note = ""
    return f"Network: {trained}{note}."


def protocol_line(report: dict) -> str:
    """e.g. "MEGC2019 composite (official list, 442 of 442 rows used), scheme composite-3class; LOSO over 68
    subjects (one fold per subject)"."""
    p = report.get("protocol") or {}
    dataset, scheme = p.get("dataset"), p.get("scheme")
    if dataset == "composite":
        what = "MEGC2019 composite"
        lst = p.get("list")
        if lst is None:
            what += " (its list's rows not recorded: an earlier mmnet trained this run)"
        elif lst["rows"] == lst["official_rows"]:
            what += f" (official list, {report['n_samples']} of {lst['rows']} rows used)"
        else:
            what += (f" (NOT the official list: {lst['file']} has {lst['rows']} rows, the official "
                     f"{lst['official_rows']}; {report['n_samples']} used; not comparable with MEGC2019's results)")
    else:
        what = str(dataset or "dataset not recorded")
    if scheme:
        what += f", scheme {scheme}"
    n = p.get("folds_per_seed")
    if p.get("protocol") == "lodo":
        splits = "; ".join(f"trained on {'+'.join(s['trained_on'])}, tested on {s['tested_on']}" for s in p["lodo"])
        how = f"LODO (leave one dataset out): {n} separate models ({splits})"
    elif p.get("protocol", "loso") == "loso":
        how = f"LOSO (leave one subject out) over {n} subjects" + (", each dataset's apart" if
                                                                    len(p.get("datasets", [])) > 1 else "")
    else:
        how = str(p.get("protocol"))
    return f"{what}; {how}{_frames_text(p.get('part_frames'))}"


def _frames_text(parts: dict | None) -> str:
    """'; frames: casme2 Cropped (face crops, layout cropped), samm SAMM (UNCROPPED full frames)', or '' where not
    recorded."""
    if not parts:
        return ""
    return "; frames: " + ", ".join(f"{part} {v.get('folder')} ("
                                    f"{'UNCROPPED full frames' if v.get('uncropped') else 'face crops'}"
                                    f"{', layout ' + v['layout'] if v.get('layout') else ''})"
                                    for part, v in parts.items())


def per_dataset_heading(report: dict) -> tuple[str, dict[str, str]]:
    """The per-dataset section's heading, and each dataset's row name (LODO: what its model trained on)."""
    p = report.get("protocol") or {}
    if p.get("protocol") == "lodo":
        names = {s["tested_on"]: f"{s['tested_on']} (trained on {'+'.join(s['trained_on'])})" for s in p["lodo"]}
        return ("## Per dataset (LODO: each row is a separate model, trained on the other datasets and tested on "
                "this one; the whole above pools their predictions)", names)
    return "## Per dataset (composite protocol: the whole above, each part here)", {}


def data_issue_lines(rows: list[dict]) -> list[str]:
    """The Issues lines of issues.csv: each warning about the data as a whole, then each check on samples used
    with how many and a few of them (issues.csv lists every one)."""
    lines, per_check = [], defaultdict(list)
    for r in rows:
        if "/" in r["sample_id"]:
            per_check[r["check"]].append(r)
        else:
            lines.append(f"{r['sample_id']} [{r['check']}]: {r['message']}")
    for check, rs in per_check.items():
        first = rs[0]
        more = f" and {len(rs) - 1} more (issues.csv lists them)" if len(rs) > 1 else ""
        lines.append(f"[{check}] on {len(rs)} sample(s) used, e.g. {first['sample_id']}: {first['message']}{more}")
    return lines


def datasets_tested(r: dict) -> dict:
    """A report dict's ``protocol``, ``tested_on`` (the datasets scored) and ``per_dataset`` (each one's seeds,
    samples, mean, std and, under LODO, ``trained_on``), as summarize_run and ``mmnet compare`` give them."""
    p = r.get("protocol") or {}
    parts = r["headline"].get("per_dataset") or {}
    trained = {s["tested_on"]: s["trained_on"] for s in p.get("lodo") or []}
    per_dataset = {d: {"n_seeds": len(b["per_seed"]), "n": next(iter(b["per_seed"].values()))["n"],
                       "mean": b["mean"], "std": b["std"], "trained_on": trained.get(d)} for d, b in parts.items()}
    return {"protocol": report_protocol(r),
            "tested_on": list(parts) or list(p.get("datasets") or []), "per_dataset": per_dataset}
