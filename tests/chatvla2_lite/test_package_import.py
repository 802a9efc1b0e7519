"""`import chatvla2_lite` stays light; the public names load torch only when first used."""

from __future__ import annotations

import subprocess
import sys

import pytest


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_import_does_not_load_torch():
    result = _run("import chatvla2_lite, sys; assert 'torch' not in sys.modules and 'transformers' not in sys.modules")
    assert result.returncode == 0, result.stderr


def test_public_names_load_lazily():
    import chatvla2_lite
    from chatvla2_lite import ChatVLA2, ChatVLA2Config
    from chatvla2_lite.model.configuration_chatvla2 import ChatVLA2Config as config_class
    from chatvla2_lite.model.policy_chatvla2 import ChatVLA2 as policy_class

    assert ChatVLA2 is policy_class and ChatVLA2Config is config_class
    assert {"ChatVLA2", "ChatVLA2Config", "ChatVLA2Processor"} <= set(dir(chatvla2_lite))
    with pytest.raises(AttributeError, match="no attribute 'NoSuchThing'"):
        chatvla2_lite.NoSuchThing  # noqa: B018
