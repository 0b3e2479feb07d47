"""Shared test setup: no test touches the real home or the hub."""

import os

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"


@pytest.fixture(autouse=True)
def _user_dir(tmp_path, monkeypatch):
    """Point DIAGNOSE_USER_DIR (progress database, captures) at a fresh temporary folder."""
    folder = tmp_path / "diagnose-user"
    monkeypatch.setenv("DIAGNOSE_USER_DIR", str(folder))
    return folder
