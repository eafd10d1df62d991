"""A seeded fuzzer over annotation tables, ``--set`` values and YAML configs.

Every case must end in a named error (an ``MMNetError``; on the command line exit code 2 and one
``error:`` line) or a correct result: a traceback, a non-finite value or a sample that vanishes
without a reason fails. A few hundred cases, seconds in all; the seeds are fixed so a failure
reproduces.
"""

from __future__ import annotations

import csv
import dataclasses
import math
import random

import pytest

from mmnet.config import _SECTIONS, config_to_dict, load_config
from mmnet.errors import MMNetError

from ..fakes import write_frames
from .helpers import cli

# -- annotation tables ------------------------------------------------------------------------------

HEADER = ["Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Action Units", "Estimated Emotion"]
CELLS = [None, "", " ", "/", "?", "-1", "0", "1", "3", "5", "7", "9", "12", "3.0", "3.5", "1e3", "nan", "inf",
         "-inf", "9" * 12, "9" * 5000, "x" * 300, "seven", "٣", "²", "happiness", "disgust", "fear", "hapiness",
         "HAPPINESS ", "others", "01", "1", "sub01", "EP01", "EP02", "EP03", "../../etc", "a/b", "\t", "é", "🙂",
         "=SUM(A1)", "4+L10", "(R6 or R12)", "TRUE"]


def _random_row(rng: random.Random, width: int) -> list:
    row = [rng.choice(["01", "02", "1", rng.choice(CELLS)]), rng.choice(["EP01", "EP02", "EP03", rng.choice(CELLS)]),
           rng.choice([1, 2, 3, rng.choice(CELLS)]), rng.choice([4, 5, 6, rng.choice(CELLS)]),
           rng.choice([8, 9, 10, rng.choice(CELLS)]), rng.choice(["4", rng.choice(CELLS)]),
           rng.choice(["happiness", "disgust", "surprise", "fear", rng.choice(CELLS)])]
    return (row + [rng.choice(CELLS) for _ in range(width)])[: max(width, 2)]


@pytest.fixture(scope="module")
def frames_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz") / "c2"
    for subject in ("01", "02"):
        for clip in ("EP01", "EP02"):
            write_frames(root / "Cropped" / f"sub{subject}" / clip, range(1, 10), "reg_img{}.jpg".format, apex=5)
    return root


@pytest.mark.parametrize("seed", range(8))
def test_fuzz_annotation_tables(frames_root, tmp_path, seed, capsys):
    from mmnet.data import get_scheme, load_dataset
    from mmnet.data.cache import frame_windows
    from mmnet.data.usage import plan_usage

    rng = random.Random(seed)
    outcomes = {"error": 0, "loaded": 0}
    for case in range(30):
        header = list(HEADER)
        if rng.random() < 0.1:
            header[rng.randrange(len(header))] = rng.choice(["", "Onset", "x"])
        rows = [_random_row(rng, rng.choice([len(HEADER), len(HEADER), 3, 9])) for _ in range(rng.randint(0, 8))]
        if rng.random() < 0.3 and rows:
            rows.append(list(rng.choice(rows)))  # a repeated row
        path = tmp_path / f"t{case}.csv"
        with open(path, "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows([header, *rows])
        if case < 4:  # the command line too: a result or one error line
            code, out, err = cli(capsys, "check-data", "casme2", "--root", frames_root, "--annotation", path)
            unusable = code == 1 and "error: none of the" in err and "can be used for training" in err  # docs/cli.md
            assert code == 0 or unusable or (code == 3 and err.startswith("error: ")), err
        try:
            load = load_dataset("casme2", frames_root, annotation=path)
        except MMNetError:
            outcomes["error"] += 1
            continue
        outcomes["loaded"] += 1
        for on_bad in ("error", "skip", "nearest"):
            usage = plan_usage(load, get_scheme("casme2-5class"), on_bad)
            # nothing vanishes: every data row is used, left out with a reason, or a reported repeat
            repeats = sum(i.check in ("duplicate", "duplicate_row") for i in load.issues)
            data_rows = sum(1 for r in rows if any(c not in (None, "") and str(c).strip() for c in r))
            assert len(usage.used) + len(usage.left_out) + repeats == data_rows, (rows, usage)
            assert all(reason for _, reason in usage.left_out)
            for sample, _ in usage.used:  # what training will use resolves to a forward motion
                w = frame_windows(sample, 0.15, clamp=on_bad == "nearest")
                assert w.onset <= w.apex and w.onset in sample.frame_numbers and w.apex in sample.frame_numbers
    assert outcomes["loaded"] > 0


# -- --set values -------------------------------------------------------------------------------------

VALUES = ["0", "-1", "1", "2", "3", "16", "17", "1000000000000", "1e309", "-1e309", ".nan", ".inf", "-.inf", "nan",
          "inf", "0.5", "-0.5", "1.5", "true", "false", "null", "", "[]", "{}", "[1, 2]", "{a: 1}", "abc", "'1e-3'",
          "x" * 300, "!!python/object/apply:os.system ['echo hacked']", "&a [*a]", "[", "'", "\t", "2.13", "0x10",
          "1_000", "~", "cuda", "cpu", "bf16", "skip", "last", "paper", "lodo", "flow", "casme2", "composite"]


def _keys() -> list[str]:
    keys = ["seeds"]
    for section, cls in _SECTIONS.items():
        keys += [f"{section}.{f.name}" for f in dataclasses.fields(cls)]
    return keys + ["train.nope", "nope.x", "train", "a.b.c", ".x", "train."]


def _check_finite(values) -> None:
    if isinstance(values, float):
        assert math.isfinite(values)
    elif isinstance(values, dict):
        for v in values.values():
            _check_finite(v)
    elif isinstance(values, list):
        for v in values:
            _check_finite(v)


# Valid items that must load to their value, so that a loader refusing everything fails the fuzzers below.
KNOWN_VALID = [("train.epochs", "3", 3), ("train.lr", "0.5", 0.5), ("data.on_bad_sample", "skip", "skip"),
               ("augment.crop_padding", "4", 4), ("seeds", "[1, 2]", [1, 2])]


def _value(cfg, key: str):
    for name in key.split("."):
        cfg = getattr(cfg, name)
    return cfg


@pytest.mark.parametrize("seed", range(4))
def test_fuzz_set_values(seed):
    for key, text, value in KNOWN_VALID:
        assert _value(load_config(None, [f"{key}={text}"]), key) == value
    rng = random.Random(1000 + seed)
    keys = _keys()
    accepted = 0
    for _ in range(80):
        items = [f"{rng.choice(keys)}={rng.choice(VALUES)}" for _ in range(rng.randint(1, 3))]
        try:
            cfg = load_config(None, items)
        except MMNetError:
            continue
        accepted += 1
        _check_finite(config_to_dict(cfg))
    assert accepted > 0  # the fuzz reached configs that load, not only refusals


def test_fuzz_set_values_on_the_command_line(tmp_path, capsys):
    """Through the CLI every case ends in exit code 3 and one `error:` line: a refused value, or, for an accepted
    one, the missing dataset root."""
    rng = random.Random(7)
    keys = _keys()
    items = [f"{key}={text}" for key, text, _ in KNOWN_VALID]
    items += [f"{rng.choice(keys)}={rng.choice(VALUES)}" for _ in range(40)]
    root = tmp_path / "missing"
    accepted = []
    for item in items:
        code, out, err = cli(capsys, "train", "--root", root, "--out", tmp_path / "run", "--set", item)
        assert code == 3 and err.startswith("error: ") and "Traceback" not in err, (item, err)
        if f"root '{root}' is missing" in err:  # the config was accepted; the data are what is missing
            accepted.append(item)
    assert accepted[:len(KNOWN_VALID)] == items[:len(KNOWN_VALID)]
    assert len(accepted) > len(KNOWN_VALID)  # random items were accepted too


# -- YAML config files --------------------------------------------------------------------------------

def _yaml_item(key: str, text: str) -> str:
    """``section.name=value`` as YAML lines."""
    *section, name = key.split(".")
    return f"{section[0]}:\n  {name}: {text}\n" if section else f"{name}: {text}\n"


def _random_yaml(rng: random.Random) -> str:
    pieces = [
        lambda: f"{rng.choice(list(_SECTIONS) + ['seeds', 'x'])}:\n  {rng.choice(_keys()).split('.')[-1]}: "
                f"{rng.choice(VALUES)}\n",
        lambda: f"seeds: {rng.choice(VALUES)}\n",
        lambda: _yaml_item(*rng.choice(KNOWN_VALID)[:2]),
        lambda: "!!python/object/apply:os.system ['echo hacked']\n",
        lambda: "train: !!binary aGVsbG8=\n",
        lambda: "model: &m {a: *m}\n",
        lambda: "- just\n- a list\n",
        lambda: "\x00\x01garbage",
        lambda: "train: {epochs: 2, epochs: 3}\n",
        lambda: f"data:\n  root: {rng.choice(VALUES)}\n  image_size: {rng.choice(VALUES)}\n",
        lambda: "a: b: c\n",
        lambda: "%YAML 9.9\n---\n",
        lambda: "",
    ]
    return "".join(rng.choice(pieces)() for _ in range(rng.randint(1, 3)))


@pytest.mark.parametrize("seed", range(3))
def test_fuzz_yaml_configs(tmp_path, seed):
    valid = tmp_path / "valid.yaml"
    valid.write_text("train:\n  epochs: 3\n  lr: 0.5\ndata:\n  on_bad_sample: skip\nseeds: [1, 2]\n")
    cfg = load_config(valid)
    assert (cfg.train.epochs, cfg.train.lr, cfg.data.on_bad_sample, cfg.seeds) == (3, 0.5, "skip", [1, 2])
    rng = random.Random(2000 + seed)
    accepted = 0
    for case in range(40):
        path = tmp_path / f"c{case}.yaml"
        text = _random_yaml(rng)
        path.write_bytes(text.encode("utf-8", "surrogatepass"))
        try:
            cfg = load_config(path)
        except MMNetError:
            continue
        accepted += 1
        _check_finite(config_to_dict(cfg))
    assert accepted > 0  # the fuzz reached configs that load, not only refusals
