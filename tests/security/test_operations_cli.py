"""`bountyexpo operations register`: a manifest is all or nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app import cli
from app.settings import get_settings
from services.persisted_operations import sha256_of

pytestmark = pytest.mark.persisted_operations

QUERY = "query Env { serverInfo { environment } }"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"0" * 64: QUERY}, "is not the SHA-256 of its body"),
        ({sha256_of("{ nope }"): "{ nope }"}, "Cannot query field 'nope' on type 'Query'."),
        ([QUERY], "expected a manifest object"),
    ],
)
def test_register_refuses_bad_manifests(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    content: Any,
    message: str,
) -> None:
    monkeypatch.setattr(cli, "configure_logging", lambda settings: None)
    monkeypatch.setenv("ENVIRONMENT", "test")
    get_settings.cache_clear()
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(content))
    try:
        assert cli.main(["operations", "register", str(path)]) == 1
    finally:
        get_settings.cache_clear()
    assert message in capsys.readouterr().err
