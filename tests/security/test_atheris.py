"""A bounded atheris run on the frame parser (skipped where atheris is not installed)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT

HARNESS = Path(__file__).with_name("fuzz_protocol.py")
CORPUS = [
    b'{"type":"ping"}',
    b'{"type":"subscribe","room":"area-a","since":3,"ref":"r1"}',
    b'{"type":"send","room":"area-a","body":"hoi","client_id":"c1","reply_to":"12"}',
    b'{"type":"edit","room":"area-a","message_id":1,"body":"x"}',
    b'{"type":"read","room":"area-a","seq":9}',
]


@pytest.mark.skipif(importlib.util.find_spec("atheris") is None, reason="atheris not installed")
def test_atheris_finds_no_crash(tmp_path: Path) -> None:
    """20 000 coverage-guided inputs: the parser only ever raises ProtocolError."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i, seed in enumerate(CORPUS):
        (corpus / f"seed{i}").write_bytes(seed)
    result = subprocess.run(
        [sys.executable, str(HARNESS), "-runs=20000", "-max_len=512", "-seed=1", str(corpus)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert result.returncode == 0, result.stderr[-3000:]
