"""`mmnet check-data` reads each problem's sample once, not once per problem: the work grows with the table.

Not a timing test (speed lives in benchmarks/): it counts how often the loader's issues are asked their sample id
while the report is printed, for a table twice as long as another.
"""

from __future__ import annotations

import dataclasses

from mmnet.cli import main
from mmnet.commands import check_data
from mmnet.data.sample import Issue


class _Counted(Issue):
    """An Issue that counts the reads of its sample id (isinstance checks and fields as before)."""

    reads = 0

    def __getattribute__(self, name):
        if name == "sample_id":
            type(self).reads += 1
        return super().__getattribute__(name)


def _sample_id_reads(tmp_path, monkeypatch, capsys, n: int) -> int:
    root = tmp_path / f"t{n}"
    root.mkdir()
    emotions = ("happiness", "disgust", "surprise")
    # no clip has frames on disk: every sample is a problem, each with its issue
    rows = [f"P{i % 5:02d},clips/c{i:04d},1,3,5,{emotions[i % 3]},12" for i in range(n)]
    (root / "annotations.csv").write_text("subject,clip,onset,apex,offset,emotion,aus\n" + "\n".join(rows) + "\n")
    real = check_data.load_quietly

    def counted(args, where):
        load = real(args, where)
        load.issues[:] = [_Counted(**{f.name: getattr(i, f.name) for f in dataclasses.fields(i)})
                          for i in load.issues]
        return load

    monkeypatch.setattr(check_data, "load_quietly", counted)
    _Counted.reads = 0
    assert main(["check-data", "table", "--root", str(root)]) == 1  # no usable sample: training would stop
    assert f"{n} with problems" in capsys.readouterr().out
    return _Counted.reads


def test_problem_lookups_grow_linearly(tmp_path, monkeypatch, capsys):
    small = _sample_id_reads(tmp_path, monkeypatch, capsys, 20)
    large = _sample_id_reads(tmp_path, monkeypatch, capsys, 80)
    assert small >= 20  # the count sees the reads at all
    # 4x the rows: about 4x the reads; a set of issue ids rebuilt per problem made it 16x
    assert large <= 6 * small, (small, large)


class _Kept(list):
    """Class indices of the samples kept, counting how often they are read through."""

    passes = 0

    def __iter__(self):
        type(self).passes += 1
        return super().__iter__()


def test_the_kept_samples_are_read_once_not_once_per_class():
    from mmnet.data.common import DatasetLoad
    from mmnet.data.schemes import get_scheme
    from mmnet.data.usage import classes_left, emptied_classes

    scheme = get_scheme("casme2-5class")
    load = DatasetLoad(samples=[], issues=[])
    kept = _Kept([0] * 100)  # one of the five classes held
    assert emptied_classes(load, scheme, kept, []) == [] and _Kept.passes == 1
    _Kept.passes = 0
    assert "only happiness has usable samples left" in classes_left(load, scheme, kept, [], dataset="casme2")
    assert _Kept.passes == 1, _Kept.passes
