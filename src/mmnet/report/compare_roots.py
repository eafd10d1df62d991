"""`mmnet compare`: a data root written two ways (``data`` and ``/abs/data``, as a resume of an mmnet 0.1.0 run
rewrites it) is one folder, not a difference in the settings."""

from __future__ import annotations

__all__ = ["same_data_root"]


def same_data_root(a, b) -> dict[str, str]:
    """``{"data.root": why}`` when two runs (``report.run_reader.Run``) write data.root differently but name the same
    folders (relative ones looked for as training saw them, as ``mmnet info`` does); else {}."""
    from ..infer.provenance import data_roots

    data_a, data_b = (r.config.get("data") if isinstance(r.config.get("data"), dict) else {} for r in (a, b))
    if data_a.get("root") == data_b.get("root"):
        return {}
    roots_a, roots_b = data_roots(data_a, a.path), data_roots(data_b, b.path)
    if not roots_a or not all(r.is_dir() for r in (*roots_a, *roots_b)):
        return {}
    same = [r.resolve() for r in roots_a] == [r.resolve() for r in roots_b]
    return {"data.root": f"the same folder, {roots_a[0].resolve()}" if len(roots_a) == 1 else "the same folders"} \
        if same else {}
