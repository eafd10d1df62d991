"""What a report says of the protocol: its title and protocol line (dataset, label scheme, LOSO or LODO, the
MEGC2019 list and its rows), LODO's per-dataset heading, and the data's warnings of issues.csv in its Issues."""

from __future__ import annotations

from collections import defaultdict

from .run_reader import Run, config_value

__all__ = ["protocol_summary", "data_issue_lines", "report_title", "protocol_line", "per_dataset_heading",
           "OFFICIAL_ROWS"]

#: rows of the official MEGC2019 list (data.composite.OFFICIAL_ROWS; not imported: the report reads run folders)
OFFICIAL_ROWS = 442
_SHORT = {"loso": "LOSO", "lodo": "LODO"}
_EXAMPLES = 3


def protocol_summary(run: Run, folds_per_seed: int) -> dict:
    """report.json's "protocol": dataset, scheme, protocol, the datasets, subjects or datasets left out one at a
    time, the composite list's rows (None where the run did not record them) and LODO's train/test split."""
    protocol = config_value(run.config, "data.protocol") or "loso"
    datasets = sorted(set(run.samples["dataset"]))
    listed = run.env.get("listed_rows") or {}
    out = {"dataset": config_value(run.config, "data.dataset"), "scheme": config_value(run.config, "data.scheme"),
           "protocol": protocol, "datasets": datasets, "folds_per_seed": folds_per_seed,
           "list": next(({"file": name, "rows": rows, "official_rows": OFFICIAL_ROWS} for name, rows in listed.items()),
                        None)}
    if protocol == "lodo":
        out["lodo"] = [{"tested_on": d, "trained_on": [o for o in datasets if o != d]} for d in datasets]
    return out


def report_title(report: dict) -> str:
    p = report.get("protocol") or {}
    return f"MMNet {_SHORT.get(p.get('protocol', 'loso'), str(p.get('protocol')).upper())} report: {report['run']}"


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
    return f"{what}; {how}"


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
