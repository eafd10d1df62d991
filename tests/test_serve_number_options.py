"""`mmnet serve`'s number options are checked before FastAPI, uvicorn and PyTorch load (seconds), each error naming
the option and the value given."""

from __future__ import annotations

import pytest

from mmnet.cli import main
from mmnet.commands import serve


@pytest.fixture(autouse=True)
def _no_server(monkeypatch):
    def started():
        raise AssertionError("the server started loading before its options were checked")

    monkeypatch.setattr(serve, "require_serve_extra", started)


@pytest.mark.parametrize(("option", "value", "said"), [
    ("--queue", "-1", ">= 0, got -1"), ("--shutdown-timeout", "-0.5", ">= 0, got -0.5"),
    ("--shutdown-timeout", "inf", ">= 0, got inf"), ("--max-upload-mb", "0", "> 0, got 0.0"),
    ("--max-upload-mb", "nan", "> 0, got nan"), ("--result-ttl", "-3", "> 0, got -3.0"),
    ("--job-timeout", "0", "> 0, got 0.0"), ("--max-results-mb", "inf", "> 0, got inf"),
])
def test_a_number_out_of_range_is_named_with_its_value(option, value, said, capsys):
    assert main(["serve", f"{option}={value}"]) == 3
    err = capsys.readouterr().err
    assert f"error: {option} must be a finite number {said}\n" in err, err
    assert err.count("must be") == 1  # the one option that is wrong, not a list of every rule


@pytest.mark.parametrize("value", ["abc", "1.5", ""])
def test_a_queue_that_is_no_whole_number_is_a_usage_error(value, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["serve", f"--queue={value}"])
    assert stop.value.code == 2
    assert f"argument --queue: invalid int value: '{value}'" in capsys.readouterr().err
