"""Lines a library caller silenced (progress=False) are not lost: they become INFO records."""

import logging

from mmnet.progress import lines_silenced, write_line


def test_silenced_lines_go_to_the_progress_logger_not_stderr(capsys, caplog):
    with caplog.at_level(logging.INFO, logger="mmnet.progress"), lines_silenced():
        write_line("SLURM: 3 fold job(s) submitted (123); logs in /x")
    assert capsys.readouterr().err == ""
    assert [r.getMessage() for r in caplog.records if r.name == "mmnet.progress"] == [
        "SLURM: 3 fold job(s) submitted (123); logs in /x"]


def test_lines_are_written_to_stderr_when_not_silenced(capsys, caplog):
    with caplog.at_level(logging.INFO, logger="mmnet.progress"):
        write_line("[fold 1/2] done")
    assert capsys.readouterr().err == "[fold 1/2] done\n"
    assert not [r for r in caplog.records if r.name == "mmnet.progress"]
