"""The allocator setting is optional and can be switched off."""
import sys

import pytest

from diffrn.autodiff.allocator import reuse_freed_memory


def test_opt_out(monkeypatch):
    monkeypatch.setenv("DIFFRN_MALLOC_TUNING", "0")
    assert reuse_freed_memory() is False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")
def test_applies_on_linux(monkeypatch):
    monkeypatch.delenv("DIFFRN_MALLOC_TUNING", raising=False)
    assert reuse_freed_memory() in (True, False)  # False on non-glibc libcs, never an error
