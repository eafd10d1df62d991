"""Training learns: a small synthetic LOSO scores clearly above the same run with permuted labels.

A change that breaks learning (labels detached from samples, the apex-onset motion lost on the
way to the network, a broken optimiser step) brings the honest score down to the control's, and
this test fails. Calibration (docs/synthetic-data.md, "Regression test"): fixed seeds, a few
subjects with large motion, small frames, so that it runs in about a minute on a 2-core CPU.
"""

import pytest

from mmnet import synth
from mmnet.config import load_config
from mmnet.train import run_experiment

SUBJECTS, CLIPS = 4, 12
DATA = synth.SynthConfig(amplitude_px=(8.0, 12.0))
SETTINGS = ["data.dataset=casme2", "data.image_size=48", "train.epochs=14", "train.batch_size=8",
            "train.lr_decay_epochs=14", "augment.crop_padding=3", "seeds=[0]", "train.seed=0"]


def _uf1(tmp_path, root, name, extra=()):
    cfg = load_config(None, [*SETTINGS, f"data.root={root}", f"data.cache_dir={tmp_path / 'cache'}", *extra])
    report = run_experiment(cfg, tmp_path / name, progress=False)
    assert report["complete"] is True
    return report["headline"]["per_seed"]["0"]["uf1"]


@pytest.mark.slow
def test_honest_loso_beats_the_permuted_label_control(tmp_path):
    root = synth.write_dataset(tmp_path / "data", subjects=SUBJECTS, clips_per_subject=CLIPS, seed=0, config=DATA)
    honest = _uf1(tmp_path, root, "run")
    control = _uf1(tmp_path, root, "control", ["data.permute_labels=true"])
    # Measured on a Xeon in bf16 (docs/synthetic-data.md): honest 0.471, control 0.181 (chance ~0.2).
    # The bounds leave room for other arithmetic (fp32 trains other models from the same seed) and
    # fail when nothing is learnt: both scores then sit at chance.
    assert honest >= 0.35, f"honest UF1 {honest:.3f}: training no longer learns the motion"
    assert honest - control >= 0.15, f"honest UF1 {honest:.3f} vs permuted-label control {control:.3f}"
