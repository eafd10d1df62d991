"""A dataset loader of one's own (registered in mmnet.data.DATASETS at run time): what it hands over is checked
before the frame cache and the run's files are written: repeated sample ids, subjects given as numbers, and
classes that no sample (or no fold's training part) holds."""

import logging
from dataclasses import replace

import pytest

from mmnet.config import load_config
from mmnet.data import DATASETS, DEFAULT_SCHEME, SCHEMES, DatasetLoad, LabelScheme, Sample
from mmnet.data.casme2 import load_casme2
from mmnet.errors import DataError

TINY = ["train.epochs=1", "data.image_size=32", "model.image_size=32", "train.batch_size=4"]
CLASSES = ("a", "b", "c", "d")


@pytest.fixture(scope="module")
def synth_root(tmp_path_factory):
    from mmnet import synth

    return synth.write_dataset(tmp_path_factory.mktemp("synth") / "data", subjects=3, clips_per_subject=4, seed=0)


def register(monkeypatch, change):
    """Register dataset "mylab" (scheme mylab-4class, classes a..d): the synthetic CASME II samples as
    ``change(samples)`` returns them, their dataset renamed and labelled a and b in turn."""
    def load_mylab(root, *, annotation=None, strict=False):
        load = load_casme2(root, annotation=annotation)
        samples = [replace(s, dataset="mylab", label="ab"[i % 2]) for i, s in enumerate(load.samples)]
        return DatasetLoad(change(samples), [], [], load.annotation)

    scheme = LabelScheme("mylab-4class", CLASSES, {c: c for c in CLASSES}, datasets=("mylab",))
    monkeypatch.setitem(DATASETS, "mylab", load_mylab)
    monkeypatch.setitem(SCHEMES, scheme.name, scheme)
    monkeypatch.setitem(DEFAULT_SCHEME, "mylab", scheme.name)


def _cfg(root, tmp_path, *extra):
    return load_config(None, ["data.dataset=mylab", f"data.root={root}", f"data.cache_dir={tmp_path / 'cache'}",
                              *TINY, *extra])


def _nothing_written(tmp_path):
    assert not (tmp_path / "run").exists()
    assert not list((tmp_path / "cache").glob("frames-*.npy")) if (tmp_path / "cache").exists() else True


def test_repeated_sample_id_is_refused_before_the_cache(synth_root, tmp_path, monkeypatch):
    """Two samples of one subject and clip (a clip with two micro-expressions): refused by prepare_run, naming both,
    not by the report after every fold trained."""
    from mmnet.train import prepare_run

    register(monkeypatch, lambda samples: samples + [replace(samples[1], label="c", onset=samples[1].onset + 1)])
    with pytest.raises(DataError) as err:
        prepare_run(_cfg(synth_root, tmp_path), tmp_path / "run", progress=False)
    msg = str(err.value)
    assert "1 sample id(s) of dataset 'mylab' are given to more than one sample" in msg
    assert f"  - mylab/01/{err.value.args[0].split('mylab/01/')[1].split(':')[0]}: row " in msg  # rows named
    assert msg.count("label 'b'") == 1 and msg.count("label 'c'") == 1  # both samples described
    assert "own clip name" in msg
    _nothing_written(tmp_path)


def test_subject_given_as_a_number_is_named(synth_root, tmp_path, monkeypatch):
    """A subject the loader gives as an int: a DataError naming the sample and field when the sample is made, not
    a TypeError from sorting subjects after the cache and run files were written."""
    from mmnet.train import prepare_run

    register(monkeypatch, lambda samples: [replace(s, subject=int(s.subject)) for s in samples])
    with pytest.raises(DataError, match=r"sample mylab/1/\S+: subject must be text such as '01', not int 1"):
        prepare_run(_cfg(synth_root, tmp_path), tmp_path / "run", progress=False)
    _nothing_written(tmp_path)
    with pytest.raises(DataError, match="clip must be text"):
        Sample("mylab", "01", 7, 1, 2, 3, "a")


def _one_subject_holds_c(samples):
    """Class c only in one clip of subject 01; class d in no sample."""
    first = next(i for i, s in enumerate(samples) if s.subject == "01")
    return [replace(s, label="c") if i == first else s for i, s in enumerate(samples)]


def test_absent_class_and_fold_without_a_class_are_warned(synth_root, tmp_path, monkeypatch, caplog):
    from mmnet.train import prepare_run

    register(monkeypatch, _one_subject_holds_c)
    with caplog.at_level(logging.WARNING, logger="mmnet.train"):
        prepare_run(_cfg(synth_root, tmp_path), tmp_path / "run", progress=False)
    text = caplog.text
    assert "class(es) d of scheme mylab-4class have no sample" in text
    assert "1 fold(s) train without a class that their test samples hold" in text and "mylab/01 (c)" in text


def test_a_final_fit_alone_warns_of_no_fold_lacking_a_class(synth_root, tmp_path, monkeypatch, caplog):
    # --final-fit-only warned "1 fold(s) train without a class..." though no fold runs
    from mmnet.train import prepare_run

    register(monkeypatch, _one_subject_holds_c)
    with caplog.at_level(logging.WARNING, logger="mmnet.train"):
        prepare_run(_cfg(synth_root, tmp_path, "train.final_fit=only"), tmp_path / "run", progress=False)
    assert "class(es) d of scheme mylab-4class have no sample" in caplog.text  # the final fit lacks it too
    assert "fold(s) train without a class" not in caplog.text


def test_check_data_warns_of_the_same(synth_root, monkeypatch, capsys):
    from mmnet.cli import main
    from mmnet.commands import check_data

    register(monkeypatch, _one_subject_holds_c)
    monkeypatch.setattr(check_data, "DATASETS", (*check_data.DATASETS, "mylab"))  # the CLI's list of choices
    assert main(["check-data", "mylab", "--root", str(synth_root), "--max-width", "400"]) == 0
    out = capsys.readouterr().out
    assert "warning: class(es) d of scheme mylab-4class have no sample" in out
    assert "mylab/01 (c)" in out


def test_check_data_refuses_repeated_ids(synth_root, monkeypatch, capsys):
    from mmnet.cli import main
    from mmnet.commands import check_data

    register(monkeypatch, lambda samples: samples + [samples[0]])
    monkeypatch.setattr(check_data, "DATASETS", (*check_data.DATASETS, "mylab"))
    assert main(["check-data", "mylab", "--root", str(synth_root)]) != 0
    assert "given to more than one sample" in capsys.readouterr().err
