"""`mmnet score-spots --json` says what it scored and how, as spot.json does: the mmnet that scored, the sha256 of
the truth and of each prediction file, the matching rule with its IoU, and when."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from mmnet.cli import main
from mmnet.version import __version__

TRUTH = "vid,onset,offset,type\np01,10,20,me\np02,30,40,mae\n"


def test_the_json_names_the_files_by_sha256_the_rule_and_the_time(tmp_path, capsys):
    truth, spots = tmp_path / "truth.csv", tmp_path / "spots.csv"
    truth.write_text(TRUTH)
    spots.write_text("vid,onset,offset,type\np01,11,20,me\n")
    assert main(["score-spots", str(truth), str(spots), "--json", "--iou", "0.6", "--mode", "softnet"]) == 0
    record = json.loads(capsys.readouterr().out)["provenance"]
    assert record["mmnet_version"] == __version__
    assert record["truth"] == {"file": str(truth), "sha256": hashlib.sha256(TRUTH.encode()).hexdigest()}
    assert record["predictions"] == [{"file": str(spots), "sha256": hashlib.sha256(spots.read_bytes()).hexdigest()}]
    assert {k: record["rule"][k] for k in ("mode", "iou", "types")} == {"mode": "softnet", "iou": 0.6, "types": "both"}
    assert "best-IoU ground truth" in record["rule"]["matching"]
    assert datetime.fromisoformat(record["scored_at"]).tzinfo is not None
