"""No test subject's data reaches training: spies on what the training loop and the spotters' fit() receive."""

from __future__ import annotations


def test_a_fold_trains_only_on_its_training_subjects(monkeypatch, tmp_path):
    from mmnet import synth
    from mmnet.config import load_config
    from mmnet.train import fold
    from mmnet.train.prepare import fold_tasks, prepare_run

    root = synth.write_dataset(tmp_path / "data", subjects=2, clips_per_subject=2, seed=0)
    cfg = load_config(None, [f"data.root={root}", f"data.cache_dir={tmp_path / 'cache'}", "train.epochs=1",
                             "data.image_size=32", "model.image_size=32", "train.batch_size=4", "train.device=cpu",
                             "train.precision=fp32"])
    subsets, trained, tested = [], [], []
    real_frames, real_train, real_eval = fold.DeviceFrames, fold.train_one_epoch, fold.evaluate

    def frames(*a, subset=None, **k):
        subsets.append(list(subset))
        return real_frames(*a, subset=subset, **k)

    def train(net, data, idx, *a, **k):
        trained.append([subsets[-1][i] for i in idx.tolist()])  # positions in the fold's subset -> sample indices
        return real_train(net, data, idx, *a, **k)

    def evaluate(net, data, idx, *a, **k):
        tested.append([subsets[-1][i] for i in idx.tolist()])
        return real_eval(net, data, idx, *a, **k)

    monkeypatch.setattr(fold, "DeviceFrames", frames)
    monkeypatch.setattr(fold, "train_one_epoch", train)
    monkeypatch.setattr(fold, "evaluate", evaluate)
    task = fold_tasks(prepare_run(cfg, tmp_path / "run", progress=False))[0]
    fold.run_fold(task, progress=False)
    held_out = {(task.datasets[i], task.subjects[i]) for i in task.test_idx}
    assert len(held_out) == 1 and len(trained) == 1 and len(tested) == 1
    assert sorted(trained[0]) == sorted(task.train_idx) and sorted(tested[0]) == sorted(task.test_idx)
    seen = {(task.datasets[i], task.subjects[i]) for i in trained[0]}
    assert len(seen) == 1 and not seen & held_out


def _videos():
    from pathlib import Path

    from mmnet.data.long_video import LongVideo
    from mmnet.spotting.intervals import Interval

    ivs = (Interval(10, 15, 20, "micro"), Interval(30, 40, 60, "macro"))
    return [LongVideo("casme-sq", s, f"{s}_{k}", 30.0, Path(f"/nowhere/{s}_{k}"), ((1, "1.jpg"), (100, "100.jpg")),
                      ivs) for s in ("s1", "s2", "s3") for k in (1, 2)]


class _Recorder:
    """What each spotter was fitted on, and which videos it then spotted."""

    def __init__(self):
        self.fits: dict[object, list[str]] = {}  # spotter -> video ids it was fitted on (keys keep them alive)
        self.spots: list[tuple[object, str]] = []  # (spotter, video id spotted)

    def held_out_seen(self, videos) -> list[str]:
        subject = {v.video: v.subject for v in videos}
        return [video for spotter, video in self.spots
                if subject[video] in {subject[f] for f in self.fits.get(spotter, [])}]


def test_loso_spotting_fits_the_learned_spotter_without_the_held_out_subject(monkeypatch):
    from types import SimpleNamespace

    from mmnet.data.long_video import LongVideoLoad
    from mmnet.spotting import loso
    from mmnet.spotting.config import spot_config
    from mmnet.spotting.learned import LearnedSpotter

    rec = _Recorder()

    class Spy(LearnedSpotter):
        def collect(self, video, **k):
            return {"video": video.video}

        def fit_collected(self, parts, **k):
            rec.fits[self] = [p["video"] for p in parts]
            return {}

        def spot(self, video, **k):
            rec.spots.append((self, video.video))
            return SimpleNamespace(intervals=[], notes=[])

    monkeypatch.setattr(loso, "make_spotter", lambda config, **k: Spy(config, **k))
    videos = _videos()
    out = loso.loso_spotting(LongVideoLoad(videos, []), spot_config("casme2", ["method=learned"]))
    assert [f["subject"] for f in out["folds"]] == ["s1", "s2", "s3"]
    assert sorted(v for _, v in rec.spots) == sorted(v.video for v in videos)  # every video spotted once
    assert all(len(f) == 4 for f in rec.fits.values()) and len(rec.fits) == 3  # two subjects' videos each
    assert rec.held_out_seen(videos) == []


def test_spot_then_recognise_fits_each_folds_spotter_without_its_test_subject(monkeypatch, tmp_path):
    import json
    from types import SimpleNamespace

    import mmnet.infer.predictor
    import mmnet.spotting.spotters
    from mmnet import run_folder as rf
    from mmnet.spotting.config import spot_config
    from mmnet.train import spot_recognise

    rec = _Recorder()

    class Spy:
        def fit(self, videos, **k):
            rec.fits[self] = [v.video for v in videos]
            return {}

        def spot(self, video, **k):
            rec.spots.append((self, video.video))
            return SimpleNamespace(intervals=[])

    fake_model = SimpleNamespace(use_cpu_routes=lambda routes: None, preprocessing=SimpleNamespace(image_size=32),
                                 class_names=["negative", "positive", "surprise"])  # spots.csv has a p_ column each
    monkeypatch.setattr(mmnet.spotting.spotters, "make_spotter", lambda config, **k: Spy())
    monkeypatch.setattr(mmnet.infer.predictor.Predictor, "from_checkpoint", lambda *a, **k: fake_model)
    monkeypatch.setattr(spot_recognise, "inference_routes", lambda size: {})
    videos = _videos()
    folds = [(f"casme-sq/{s}", [], []) for s in ("s1", "s2", "s3")]
    for name, _, _ in folds:
        (rf.fold_path(tmp_path, 0, name)).mkdir(parents=True)
        (rf.fold_path(tmp_path, 0, name) / rf.DONE).write_text(json.dumps({"fold": name}))
    run = SimpleNamespace(cfg=SimpleNamespace(seeds=[0], train=SimpleNamespace(device="cpu")), folds=folds,
                          out_dir=tmp_path, long_videos=SimpleNamespace(videos=videos, types=("micro", "macro")),
                          video_folds={v.video: f"casme-sq/{v.subject}" for v in videos},
                          spot=spot_config("casme2", ["method=learned"]))
    assert spot_recognise.run_spot_recognise(run) == 3
    assert sorted(v for _, v in rec.spots) == sorted(v.video for v in videos)
    assert all(len(f) == 4 for f in rec.fits.values()) and len(rec.fits) == 3
    assert rec.held_out_seen(videos) == []
