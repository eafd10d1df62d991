"""Training a network other than MMNet: model.factory ("package.module:callable") builds it in every process that
trains; the run, its report, its checkpoints and its model card name the network that trained (a replaced
mmnet.train.fold.MMNet too); subclasses load as themselves; a checkpoint of another network says what it holds."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
import yaml
from torch import nn

from mmnet.config import load_config
from mmnet.errors import CheckpointError, ConfigError
from mmnet.model import MMNet, load_checkpoint, read_checkpoint
from mmnet.train import fold_tasks, prepare_run, run_experiment

NETS = "mmnet_test_nets"  # the module the tests write, importable by name as a user's package is
SRC = Path(__file__).resolve().parents[1] / "src"
TINY = ["data.image_size=32", "train.epochs=1", "train.batch_size=4", "train.device=cpu", "train.precision=fp32"]

MODULE = '''
from torch import nn
from mmnet.model import MMNet

NOT_CALLABLE = 3

class MMNetPlus(MMNet):
    def __init__(self, config):
        super().__init__(config=config)
        self.extra = nn.Sequential(nn.Linear(config.num_classes, config.num_classes))

    def forward(self, onset, apex=None, *, flow=None):
        return self.extra(super().forward(onset, apex, flow=flow))

def build(config):
    return MMNetPlus(config)

def returns_int(config):
    return 7

class Pooled(nn.Module):
    def __init__(self, outputs):
        super().__init__()
        self.head = nn.Linear(3, outputs)

    def forward(self, onset, apex):
        return self.head((apex - onset).mean((2, 3)))

def wrong_width(config):
    return Pooled(config.num_classes + 1)

def three_classes(config):  # a network made for one scheme's classes, whatever the config says
    return Pooled(3)

class TwoInputs(nn.Module):
    def __init__(self, config):
        super().__init__()

    def forward(self, onset, apex):
        return onset
'''


@pytest.fixture(scope="module")
def nets_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("nets")
    (folder / f"{NETS}.py").write_text(MODULE)
    sys.path.insert(0, str(folder))
    yield folder
    sys.path.remove(str(folder))
    sys.modules.pop(NETS, None)


@pytest.fixture(scope="module")
def synth_root(tmp_path_factory):
    from mmnet import synth

    return synth.write_dataset(tmp_path_factory.mktemp("synth") / "data", subjects=2, clips_per_subject=3, seed=0)


def _cfg(root, tmp, *extra):
    return load_config(None, [f"data.root={root}", f"data.cache_dir={tmp / 'cache'}", *TINY, *extra])


def _plus():
    import mmnet_test_nets

    return mmnet_test_nets.MMNetPlus


@pytest.mark.parametrize(("factory", "said"), [
    ("no_such_module_xyz:build", "module 'no_such_module_xyz' is not found"),
    (f"{NETS}:nope", f"module '{NETS}' has no attribute 'nope'"),
    (f"{NETS}:NOT_CALLABLE", "'NOT_CALLABLE' is a int, not a callable"),
    (f"{NETS}:returns_int", "returned a int, not a torch nn.Module"),
    (f"{NETS}:wrong_width", "expected logits of shape (2, 5)"),
    (f"{NETS}:TwoInputs", "returned (2, 3, 32, 32) for 2 frame pairs"),
    (f"{NETS}:Pooled", "calling it with the model config failed: TypeError"),
    ("__main__:build", "cannot be imported by the processes that train it"),
])
def test_a_wrong_factory_is_said_before_anything_is_written(nets_dir, tmp_path, factory, said):
    cfg = load_config(None, [*TINY, f"model.factory={factory}"])
    with pytest.raises(ConfigError) as err:
        run_experiment(cfg, tmp_path / "run", progress=False)
    assert said in str(err.value) and "model.factory" in str(err.value)
    assert not (tmp_path / "run").exists()


def test_a_malformed_factory_is_a_config_error():
    with pytest.raises(ConfigError, match=r"model.factory must be .*package.module:callable"):
        load_config(None, ["model.factory=mynets.plus.build"])


@pytest.mark.slow
def test_a_factory_network_trains_and_every_record_names_it(nets_dir, synth_root, tmp_path):
    out = tmp_path / "run"
    report = run_experiment(_cfg(synth_root, tmp_path, f"model.factory={NETS}:build", "train.final_fit=true"), out,
                            progress=False)
    assert yaml.safe_load((out / "config.yaml").read_text())["model"]["factory"] == f"{NETS}:build"
    count = sum(p.numel() for p in _plus()(load_config(None, TINY).model).parameters())
    for done in [*out.glob("seed-0/fold-*/done.json"), out / "final" / "done.json"]:
        record = json.loads(done.read_text())
        assert (record["network"], record["parameters"]) == (f"{NETS}:MMNetPlus", count)
    md = (out / "report.md").read_text()
    assert md.startswith("# MMNetPlus LOSO report: run\n")
    assert f"Network: {NETS}:MMNetPlus ({count:,} parameters) (built by model.factory '{NETS}:build'" in md
    card = json.loads((out / "final" / "model_card.json").read_text())
    assert card["model"]["architecture"] == f"{NETS}:MMNetPlus (not MMNet)"
    assert (card["model"]["factory"], card["model"]["parameters"]) == (f"{NETS}:build", count)
    text = (out / "final" / "MODEL_CARD.md").read_text()
    assert "load_checkpoint('final/model', factory='mmnet_test_nets:build')" in text
    assert "Load it with `mmnet predict" not in text
    model_dir = report["final_model"]["path"]
    _, meta = read_checkpoint(model_dir)
    assert (meta["network"], meta["model"]["factory"]) == (f"{NETS}:MMNetPlus", f"{NETS}:build")
    # loaded as what it is: by the factory, or by the subclass's from_pretrained
    model, _ = load_checkpoint(model_dir, factory=f"{NETS}:build")
    assert type(model) is _plus() and type(_plus().from_pretrained(model_dir)) is _plus()
    # predict and serve build MMNet: the error says what the checkpoint holds and how to load it
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(model_dir)
    assert "unexpected keys (2): extra.0.bias, extra.0.weight" in str(err.value)
    assert f"holds the network {NETS}:MMNetPlus (trained with model.factory '{NETS}:build')" in str(err.value)
    assert f"factory='{NETS}:build'" in str(err.value)


@pytest.mark.slow
def test_a_fold_run_in_a_fresh_process_builds_the_factory_network(nets_dir, synth_root, tmp_path):
    # what a Ray worker or a SLURM job does: unpickle the task in a new interpreter, import mmnet afresh, train
    run = prepare_run(_cfg(synth_root, tmp_path, f"model.factory={NETS}:build"), tmp_path / "run", progress=False)
    task = fold_tasks(run)[0]
    (tmp_path / "task.pkl").write_bytes(pickle.dumps(task))
    code = textwrap.dedent("""
        import pickle, sys
        from mmnet.train.fold import run_fold
        print(run_fold(pickle.load(open(sys.argv[1], "rb")), progress=False)["network"])
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), str(nets_dir)])}
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "task.pkl")], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == f"{NETS}:MMNetPlus"


class _Patched(MMNet):
    """A network put in place of mmnet.train.fold.MMNet (a notebook's way before model.factory)."""

    def __init__(self, config=None):
        super().__init__(config=config)
        self.extra = nn.Linear(config.num_classes, config.num_classes)

    def forward(self, onset, apex=None, *, flow=None):
        return self.extra(super().forward(onset, apex, flow=flow))


@pytest.mark.slow
def test_a_replaced_network_is_recorded_not_labelled_mmnet(synth_root, tmp_path, monkeypatch):
    import mmnet.train.fold

    monkeypatch.setattr(mmnet.train.fold, "MMNet", _Patched)
    out = tmp_path / "run"
    run_experiment(_cfg(synth_root, tmp_path, "train.final_fit=true"), out, progress=False)
    name = f"{__name__}:_Patched"
    assert {json.loads(p.read_text())["network"] for p in out.glob("**/done.json")} == {name}
    md = (out / "report.md").read_text()
    assert md.startswith("# _Patched LOSO report: run\n")
    assert f"Network: {name} (" in md and "NOT what config.yaml builds" in md
    card = (out / "final" / "MODEL_CARD.md").read_text()
    assert card.startswith("# Model card: _Patched micro-expression classifier")
    assert f"Architecture: {name} (not MMNet)" in card and "_Patched.from_pretrained('final/model')" in card


def test_from_pretrained_of_a_subclass_builds_the_subclass(tmp_path):
    class Sub(MMNet):
        pass

    Sub(num_classes=3, image_size=32).save_pretrained(tmp_path / "m")
    model = Sub.from_pretrained(tmp_path / "m")
    assert type(model) is Sub
    meta = read_checkpoint(tmp_path / "m")[1]
    assert meta["network"] == f"{__name__}:{Sub.__qualname__}"
    assert "factory" not in meta["model"]  # no factory: the model record an earlier mmnet reads, unchanged
    assert type(MMNet.from_pretrained(tmp_path / "m")) is MMNet  # the same layout: MMNet loads it too


def test_a_checkpoint_of_another_network_says_so_and_how_to_load_it(tmp_path):
    _Patched(config=MMNet(num_classes=3, image_size=32).config).save_pretrained(tmp_path / "m")
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(tmp_path / "m")
    text = str(err.value)
    assert "unexpected keys (2): extra.bias, extra.weight" in text
    assert f"holds the network {__name__}:_Patched" in text and "_Patched.from_pretrained(" in text
    assert type(_Patched.from_pretrained(tmp_path / "m")) is _Patched


def test_a_checkpoint_without_a_record_hints_at_another_network(tmp_path):
    # a checkpoint of an mmnet that recorded no network, with layers MMNet lacks
    model = _Patched(config=MMNet(num_classes=3, image_size=32).config)
    model.save_pretrained(tmp_path / "m")
    weights, meta = read_checkpoint(tmp_path / "m")
    del meta["network"]
    from mmnet.model.mmnet import model_from_weights

    with pytest.raises(CheckpointError, match=r"may hold a network other than MMNet,.*from_pretrained"):
        model_from_weights(weights, meta, source="m")
    with torch.no_grad():
        assert model_from_weights(weights, meta, source="m", cls=_Patched).extra.weight.shape == (3, 3)


def test_a_replaced_network_is_refused_where_other_processes_train(tmp_path, monkeypatch):
    # Ray workers and SLURM jobs import mmnet afresh: they would train MMNet under the replaced one's run
    pytest.importorskip("ray")
    import mmnet.train.fold
    from mmnet.config import ExecutorConfig

    monkeypatch.setattr(mmnet.train.fold, "MMNet", _Patched)
    with pytest.raises(ConfigError, match=r"mmnet.train.fold.MMNet was replaced by .*_Patched.*Set model.factory"):
        run_experiment(load_config(None, TINY), tmp_path / "run", executor=ExecutorConfig(executor="ray"),
                       progress=False)
    assert not (tmp_path / "run").exists()


def test_a_replaced_network_is_refused_by_a_sweep_where_other_processes_train(tmp_path, monkeypatch):
    # as run_experiment: a sweep's settings train in Ray workers or SLURM jobs, which would train MMNet
    pytest.importorskip("ray")
    import mmnet.train.fold
    from mmnet import synth
    from mmnet.config import ExecutorConfig
    from mmnet.train.sweep import load_sweep, run_sweep

    root = synth.write_dataset(tmp_path / "data", subjects=2, clips_per_subject=3, seed=0)
    sweep_file = tmp_path / "s.yaml"
    sweep_file.write_text(yaml.safe_dump({"set": [*TINY, f"data.root={root}"], "settings": {"paper": {}}}))
    monkeypatch.setattr(mmnet.train.fold, "MMNet", _Patched)
    with pytest.raises(ConfigError, match=r"mmnet.train.fold.MMNet was replaced by .*_Patched.*Set model.factory"):
        run_sweep(load_sweep(sweep_file), tmp_path / "sweep", executor=ExecutorConfig(executor="ray"), progress=False)
    assert not (tmp_path / "sweep").exists()


@pytest.mark.parametrize("command", ["train", "sweep"])
def test_a_factory_is_checked_with_the_class_count_of_the_label_scheme(nets_dir, synth_root, tmp_path, monkeypatch,
                                                                        command):
    # the check builds the network as the folds do: model.num_classes follows data.scheme (3 here, not the default 5)
    import mmnet.train.experiment
    import mmnet.train.sweep
    from mmnet.train.sweep import load_sweep, run_sweep

    settings = [*TINY, f"data.root={synth_root}", "data.scheme=casme2-3class-megc",
                f"model.factory={NETS}:three_classes"]
    checked = []
    if command == "train":  # the checks passed: the run would start here
        monkeypatch.setattr(mmnet.train.experiment, "_run", lambda cfg, *args: checked.append(cfg.model.num_classes))
        run_experiment(load_config(None, settings), tmp_path / "run", progress=False)
    else:
        monkeypatch.setattr(mmnet.train.sweep, "_run", lambda sweep, *args: checked.append(len(sweep.settings)))
        sweep_file = tmp_path / "s.yaml"
        sweep_file.write_text(yaml.safe_dump({"set": settings, "settings": {"three": {}}}))
        run_sweep(load_sweep(sweep_file), tmp_path / "sweep", progress=False)
    assert checked == [3 if command == "train" else 1]
