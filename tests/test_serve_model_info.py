"""What /api/model and every result's ``model`` say of a model's training data when it is not fully recorded:
``synthetic`` is null (unknown), not false, and converted weights whose dataset is not stated are described as
their caption is, not as a model with no record."""

from types import SimpleNamespace

import pytest

from mmnet.cli import main
from mmnet.serve.model_info import describe_checkpoint, provenance

torch = pytest.importorskip("torch")

PREDICTOR = SimpleNamespace(class_names=["a", "b", "c"], preprocessing=SimpleNamespace(image_size=64))


def test_a_model_whose_training_is_not_recorded_is_neither_synthetic_nor_real(tmp_path):
    info = describe_checkpoint(tmp_path / "nothing", PREDICTOR)
    assert info["training"] == {} and info["synthetic"] is None
    assert provenance(info)["synthetic"] is None
    assert provenance({"classes": ["a"]})["synthetic"] is None  # a server given no model information
    assert provenance({"synthetic": True})["synthetic"] is True
    assert provenance({"synthetic": False})["synthetic"] is False


@pytest.mark.parametrize("given, trained_on", [([], "data not stated"), (["--trained-on", "samm"], "SAMM")])
def test_converted_weights_are_summarised_as_converted(tmp_path, capsys, given, trained_on):
    from .test_convert import _fake_official_state_dict

    sd = _fake_official_state_dict()
    sd["main_branch.fc.weight"], sd["main_branch.fc.bias"] = torch.zeros(3, 100352), torch.zeros(3)
    torch.save(sd, tmp_path / "three.pth")
    assert main(["convert", str(tmp_path / "three.pth"), str(tmp_path / "out"), *given]) == 0
    info = describe_checkpoint(tmp_path / "out", PREDICTOR)
    assert info["summary"].startswith("Converted from 'three.pth' (") and "not recorded" not in info["summary"]
    assert f"trained there on {trained_on}." in info["summary"] and "folder was not found" not in info["summary"]
    assert ("Check what they were trained on" in info["summary"]) == (not given)
    assert info["synthetic"] is (False if given else None)  # a stated dataset is a real one
