from pathlib import Path

import pytest

from mmnet.config import ExecutorConfig, ExperimentConfig, expand_seeds, format_root, load_config, parse_root
from mmnet.errors import ConfigError

CONFIGS = sorted((Path(__file__).resolve().parents[1] / "src" / "mmnet" / "recipes").glob("*.yaml"))


def test_defaults_are_the_paper_recipe():
    cfg = ExperimentConfig()
    assert (cfg.train.epochs, cfg.train.batch_size, cfg.train.lr, cfg.train.weight_decay) == (74, 32, 8e-4, 0.6)
    assert (cfg.train.lr_gamma, cfg.train.lr_decay_epochs) == (0.987, 50)
    assert (cfg.augment.hflip, cfg.augment.rotate_degrees, cfg.augment.crop_padding) == (0.5, 3.0, 15)
    assert cfg.eval.selection == "last"


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_every_shipped_config_loads(path):
    load_config(path)


def test_three_class_recipe():
    cfg = load_config("casme2_3class")
    assert (cfg.train.batch_size, cfg.train.weight_decay, cfg.train.epochs) == (24, 0.7, 99)
    assert (cfg.model.pc_depth, cfg.model.pc_mlp_ratio, cfg.model.pc_drop_path) == (3, 2.0, 0.3)


def test_overrides_are_typed():
    cfg = load_config(None, ["train.epochs=3", "model.use_ca=false", "train.lr=1e-3", "seeds=[1, 2]"])
    assert cfg.train.epochs == 3 and cfg.model.use_ca is False and cfg.train.lr == 1e-3 and cfg.seeds == [1, 2]


def test_one_key_value_pair_alone_is_one_override():
    from mmnet.config import override_list

    assert load_config(None, ("data.root", "/x # copy")).data.root == "/x # copy"
    assert load_config(None, ("train.epochs", 3)).train.epochs == 3
    assert override_list(("train.epochs=3", "train.lr=1e-3")) == ["train.epochs=3", "train.lr=1e-3"]  # two strings
    assert override_list(("train.epochs", "train.lr=1e-3")) == ["train.epochs", "train.lr=1e-3"]  # named as bad


@pytest.mark.parametrize(
    "override, message",
    [
        ("train.epoch=3", "Unknown config key"),
        ("trian.epochs=3", "Unknown config section"),
        ("train.epochs=three", "must be of type int"),
        ("train.epochs=0", "train.epochs must be >= 1"),
        ("eval.selection=best", "Valid values"),
        ("train.precision=fp16", "Valid values"),
        ("data.image_size=100", "multiple of 16"),
        ("noequals", "section.key=value"),
    ],
)
def test_bad_values_are_config_errors(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(None, [override])


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    "override, message",
    [
        ("train.lr=.inf", "train.lr must be a finite number"),
        ("augment.rotate_degrees=.nan", "augment.rotate_degrees must be a finite number"),
        ("train.lr=[", "cannot parse"),
        ("train.a.b=1", "key must be section.key"),
        ("seeds=0", "seeds must be >= 1"),
        ("seeds=[1, 1]", "distinct integers"),
        ("seeds=abc", "count .* or a list of integers"),
        ("data.root=", None),  # empty: back to the default (no root), not an error here
    ],
)
def test_each_kind_of_bad_override_is_named(override, message):
    if message is None:
        assert load_config(None, [override]).data.root is None
        return
    with pytest.raises(ConfigError, match=message):
        load_config(None, [override])


def test_seed_count_and_list_expand_in_one_place():
    assert load_config(None, ["train.seed=5", "seeds=3"]).seeds == [5, 6, 7]
    assert load_config(None, ["seeds=[4, 9]"]).seeds == [4, 9]
    assert load_config(None, ["train.seed=5"]).seeds == [5]  # set alone, it is the run's seed (folder seed-5)
    assert load_config(None, []).seeds == [0]
    assert expand_seeds(2, 10) == [10, 11]


def test_config_file_must_be_a_mapping(tmp_path):
    path = tmp_path / "list.yaml"
    path.write_text("- train\n- data\n")
    with pytest.raises(ConfigError, match="must hold a mapping"):
        load_config(path)


def test_composite_root_forms_parse_alike(tmp_path):
    want = {"casme2": Path("/d/C"), "samm": Path("/d/S"), "smic": Path("/d/M")}
    assert parse_root("composite", "casme2=/d/C,samm=/d/S,smic=/d/M") == want
    assert parse_root("composite", ["casme2=/d/C", "samm=/d/S", "smic=/d/M"]) == want
    assert parse_root("composite", ["casme2=/d/C,samm=/d/S", "SMIC=/d/M"]) == want
    assert parse_root("composite", {"casme2": "/d/C", "samm": "/d/S", "smic": "/d/M"}) == want
    assert parse_root("composite", format_root(want)) == want
    assert parse_root("composite", "/d/all") == Path("/d/all")  # one folder holding the three parts
    assert parse_root("casme2", ["/d/C"]) == Path("/d/C")


def test_a_root_from_a_config_file_expands_the_home_folder(monkeypatch, tmp_path):
    # data.root: ~/CASME2 in a YAML file reaches mmnet unexpanded (no shell): it was looked up as './~/CASME2'
    monkeypatch.setenv("HOME", str(tmp_path))
    assert parse_root("casme2", "~/CASME2") == tmp_path / "CASME2"
    assert parse_root("composite", "casme2=~/C,samm=/d/S") == {"casme2": tmp_path / "C", "samm": Path("/d/S")}


@pytest.mark.parametrize(
    "dataset, root, message",
    [
        ("casme2", None, "No dataset root given"),
        ("casme2", ["/a", "/b"], "given 2 times"),
        ("casme2", "casme2=/a", "only for the composite"),
        ("composite", ["casme2=/a", "samm"], "not PART=DIR"),
        ("composite", ["casme2=/a", "casme2=/b"], "names a part twice"),
    ],
)
def test_bad_roots_are_named(dataset, root, message):
    with pytest.raises(ConfigError, match=message):
        parse_root(dataset, root)


def test_executor_options_are_typed_and_checked():
    assert ExecutorConfig().executor == "local"
    assert ExecutorConfig(executor="ray", gpus_per_fold=0.25).gpus_per_fold == 0.25
    for kwargs, message in (({"executor": "dask"}, "Unknown executor"),
                            ({"executor": "ray", "transport": "nfs"}, "Unknown transport"),
                            ({"executor": "ray", "max_retries": -1}, "max_retries must be >= 0"),
                            ({"executor": "ray", "cpus_per_fold": 0}, "--cpus-per-fold must be > 0"),
                            ({"executor": "ray", "gpus_per_fold": -1}, "--gpus-per-fold must be >= 0"),
                            ({"gpus_per_fold": 1}, "--gpus-per-fold only applies with --executor ray")):
        with pytest.raises(ConfigError, match=message):
            ExecutorConfig(**kwargs)


def test_cli_root_forms_give_one_config(tmp_path):
    import argparse

    from mmnet.commands import train

    parser = argparse.ArgumentParser()
    train.add_arguments(parser)
    base = ["--dataset", "composite", "--out", str(tmp_path)]
    repeated = parser.parse_args(base + ["--root", "casme2=/d/C", "--root", "samm=/d/S", "--root", "smic=/d/M"])
    joined = parser.parse_args(base + ["--root", "casme2=/d/C,samm=/d/S,smic=/d/M"])
    assert train.experiment_config(repeated) == train.experiment_config(joined)
    assert train.experiment_config(joined).data.root == "casme2=/d/C,samm=/d/S,smic=/d/M"
    with_seeds = parser.parse_args(base + ["--root", "/d/all", "--seeds", "3", "--set", "train.seed=2"])
    assert train.experiment_config(with_seeds).seeds == [2, 3, 4]


def test_a_user_set_data_classes_is_refused_unless_it_is_the_schemes(tmp_path, capsys):
    # it was replaced by the scheme's classes without a word: a 5-class run for "data.classes=[a,b]"
    from mmnet.cli import main
    from mmnet.train.prepare import prepare_run

    cfg = load_config(None, ["data.classes=[a,b]", f"data.root={tmp_path / 'data'}"])
    with pytest.raises(ConfigError, match=r"data.classes \['a', 'b'\] cannot be set: the classes are derived from "
                                          r"data.scheme, and scheme 'casme2-5class' has \['happiness', 'repression', "
                                          r"'disgust', 'surprise', 'others'\]\. .*--scheme.*casme2-3class"):
        prepare_run(cfg, tmp_path / "run", progress=False)
    assert main(["train", "--set", "data.classes=[a,b]", "--print-config"]) == 3
    assert "docs/datasets.md lists each scheme's classes" in capsys.readouterr().err
    # A resolved config.yaml fed back lists the scheme's own classes: accepted.
    assert main(["train", "--scheme", "casme2-3class-megc", "--print-config"]) == 0
    resolved = tmp_path / "resolved.yaml"
    resolved.write_text(capsys.readouterr().out)
    assert main(["train", "--config", str(resolved), "--print-config"]) == 0
    assert "- surprise" in capsys.readouterr().out


@pytest.mark.parametrize("value", ["70", "8", "0"])
def test_a_bad_data_image_size_is_named_as_set(value):
    # the model section was built first from the copied value: "model.image_size must be ..."
    with pytest.raises(ConfigError, match=rf"^data\.image_size must be a positive multiple of 16, got {value}$"):
        load_config(None, [f"data.image_size={value}"])
    with pytest.raises(ConfigError, match=r"^model\.image_size must be a positive multiple of 16"):
        load_config(None, ["model.image_size=70"])  # the model key set alone is still named
