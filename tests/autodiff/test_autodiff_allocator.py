"""The allocator setting is applied on glibc and can be switched off."""
import platform
import sys

import pytest

from diffrn.autodiff.allocator import reuse_freed_memory


def test_opt_out(monkeypatch):
    monkeypatch.setenv("DIFFRN_MALLOC_TUNING", "0")
    assert reuse_freed_memory() is False


@pytest.mark.skipif(not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
                    reason="mallopt thresholds are a glibc feature")
def test_applies_on_glibc(monkeypatch):
    monkeypatch.delenv("DIFFRN_MALLOC_TUNING", raising=False)
    assert reuse_freed_memory() is True
