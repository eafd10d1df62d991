"""SMIC loader on generated fake trees: variants, releases, apex estimation and its cache."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from mmnet.data import get_scheme, load_dataset
from mmnet.data.apex import estimate_apex
from mmnet.errors import ConfigError, DatasetNotFoundError

from .fakes import SMIC_CLIPS, write_smic


@pytest.mark.parametrize("release", ["", "SMIC_all_cropped"])
def test_clips_labels_and_estimated_apex(tmp_path, release):
    root = write_smic(tmp_path / "smic", release=release)
    load = load_dataset("smic", root, cache_dir=tmp_path / "cache")
    assert [(s.subject, s.clip, s.label) for s in load.samples] == [
        (f"s{n}", clip, emo) for n, clip, emo, *_ in SMIC_CLIPS]
    for s, (_, _, _, lo, apex, hi) in zip(load.samples, SMIC_CLIPS):
        assert (s.onset, s.offset) == (lo, hi)
        assert s.apex == apex  # the fake motion peaks at the recorded apex
    assert all(i.check == "apex_estimated" and i.severity == "warning" for i in load.issues)
    assert "non_micro" not in {s.clip for s in load.samples} and "s1_ne_99" not in {s.clip for s in load.samples}
    pairs = get_scheme("smic-3class").select(load.samples)
    assert [i for _, i in pairs] == [0, 1, 2, 0]


def test_apex_cache_is_used_and_keyed_by_content(tmp_path):
    root = write_smic(tmp_path / "smic")
    cache_dir = tmp_path / "cache"
    load_dataset("smic", root, cache_dir=cache_dir)
    cache_file = cache_dir / "apex" / "smic-hs.json"
    entries = json.loads(cache_file.read_text())
    assert len(entries) == len(SMIC_CLIPS)
    # poison the cache with another frame of the clip: a hit must return the cached value
    key = next(k for k, v in entries.items() if v["apex"] == 106330)
    entries[key]["apex"] = 106331
    cache_file.write_text(json.dumps(entries))
    load = load_dataset("smic", root, cache_dir=cache_dir)
    assert load.samples[0].apex == 106331 and "cache" in load.samples[0].extra["apex_source"]
    # moving the dataset keeps the key; changing a frame's content changes it
    moved = root.rename(tmp_path / "moved")
    assert load_dataset("smic", moved, cache_dir=cache_dir).samples[0].apex == 106331
    frame = moved / "HS" / "s1" / "micro" / "negative" / "s1_ne_01" / "reg_image106324.bmp"
    frame.write_bytes(frame.read_bytes()[:-1] + b"\x01")
    assert load_dataset("smic", moved, cache_dir=cache_dir).samples[0].apex == 106330


def test_variants_and_names(tmp_path):
    root = write_smic(tmp_path / "smic", variant="VIS", clips=SMIC_CLIPS[:1], cropped=False)
    a = load_dataset("smic", root, variant="vis", cache_dir=False)
    b = load_dataset("smic-vis", root, cache_dir=False)
    assert [s.clip for s in a.samples] == [s.clip for s in b.samples] == ["s1_ne_01"]
    assert a.samples[0].extra["variant"] == "VIS"
    with pytest.raises(DatasetNotFoundError, match="HS"):
        load_dataset("smic", root, cache_dir=False)
    with pytest.raises(ConfigError, match="SMIC variant"):
        load_dataset("smic", root, variant="IR")
    no_apex = load_dataset("smic-vis", root, estimate_apex=False, cache_dir=False)
    assert no_apex.samples[0].apex is None and no_apex.errors == []


def test_estimate_apex_on_a_ramp(tmp_path):
    from .fakes import write_frames

    write_frames(tmp_path, range(10, 30), "f{}.png".format, apex=17, fmt="PNG")
    frames = [(n, tmp_path / f"f{n}.png") for n in range(10, 30)]
    assert estimate_apex(frames) == 17


def test_apex_shares_the_predict_spotting_rule_and_bad_clips_are_warned(tmp_path):
    from mmnet.data.apex import METHOD
    from mmnet.spotting import spot_apex

    from .fakes import write_frames

    assert METHOD == "grid-motion-v2"
    write_frames(tmp_path / "clip", range(1, 12), "f{}.png".format, apex=4, fmt="PNG")
    frames = [(n, tmp_path / "clip" / f"f{n}.png") for n in range(1, 12)]
    decoded = [np.asarray(Image.open(p).convert("RGB")) for _, p in frames]
    assert estimate_apex(frames) == frames[spot_apex(decoded)][0] == 4
    root = write_smic(tmp_path / "smic", [(1, "s1_ne_01", "negative", 106324, 106324, 106324)])  # one frame
    (sample,) = load_dataset("smic", root, cache_dir=False).samples
    assert sample.apex is None
    load = load_dataset("smic", root, cache_dir=False)
    assert [i.check for i in load.issues if i.sample_id == sample.sample_id] == ["apex_not_estimated"]


def test_a_missing_variant_names_the_ones_present(tmp_path):
    # --variant VIS on an HS-only copy said only that 'VIS/' is missing
    root = write_smic(tmp_path / "smic", clips=SMIC_CLIPS[:1])
    with pytest.raises(DatasetNotFoundError, match="this copy holds HS: use --variant HS"):
        load_dataset("smic", root, variant="VIS", cache_dir=False)
