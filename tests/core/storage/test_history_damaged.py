"""A damaged run history: one sentence that names the file and says what to do; the file is left alone."""

from __future__ import annotations

import pytest

from chainstudio.core.storage.history import HistoryDamaged, RunHistory, open_history
from tests.hostile.helpers import assert_clean, cli


@pytest.fixture()
def damaged(tmp_path):
    path = tmp_path / "data" / "history.sqlite3"
    path.parent.mkdir()
    path.write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 50)  # the header, then garbage
    return path


def test_a_damaged_history_is_named_with_what_to_do(damaged):
    with pytest.raises(HistoryDamaged) as caught:
        RunHistory(damaged)
    assert str(damaged) in str(caught.value) and "rename or delete it to start a new one" in str(caught.value)


def test_open_history_falls_back_to_a_history_for_the_session(damaged):
    before = damaged.read_bytes()
    history, problem = open_history(damaged)
    assert problem and str(damaged) in problem and "until you quit" in problem
    assert history.path != damaged and history.runs() == []
    assert damaged.read_bytes() == before
    assert open_history(damaged.parent / "fresh.sqlite3")[1] is None


def test_history_commands_say_it_in_one_line(damaged):
    result = cli("history", "list", env={"CHAINSTUDIO_DATA_DIR": str(damaged.parent)})
    assert result.returncode == 2 and "cannot be read" in result.stderr and str(damaged) in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert_clean(result)
