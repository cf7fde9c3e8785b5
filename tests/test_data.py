"""The copies of real TensorRT outputs in tests/data/trt-artifacts are complete and
unmodified: every file matches its sha256 in SHA256SUMS and no file is unlisted (a missing
file fails here, and in the tests that read it; none skips)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest


@pytest.fixture
def listed(trt_artifacts: Path) -> dict[str, str]:
    """relative path -> sha256, from SHA256SUMS."""
    out = {}
    for line in (trt_artifacts / "SHA256SUMS").read_text(encoding="utf-8").splitlines():
        digest, relative = line.split(maxsplit=1)
        out[relative] = digest
    return out


def test_every_copy_matches_its_sha256(trt_artifacts, listed):
    sums = listed
    assert len(sums) == 38  # 36 TensorRT outputs, SOURCES.md and the license text
    mismatched = {rel: digest for rel, digest in sums.items()
                  if not (trt_artifacts / rel).is_file()
                  or hashlib.sha256((trt_artifacts / rel).read_bytes()).hexdigest() != digest}
    assert mismatched == {}


def test_no_file_is_unlisted(trt_artifacts, listed):
    present = {p.relative_to(trt_artifacts).as_posix() for p in trt_artifacts.rglob("*") if p.is_file()}
    assert present - {"SHA256SUMS"} == set(listed)


def test_sources_and_license_are_kept(trt_artifacts):
    sources = (trt_artifacts / "SOURCES.md").read_text(encoding="utf-8")
    for repo in ("NVIDIA/TensorRT", "fuzzylabs/edge-vision-power-estimation", "NVIDIA/trt-samples-for-hackathon-cn"):
        assert repo in sources
    license_text = (trt_artifacts / "LICENSE-Apache-2.0.txt").read_text(encoding="utf-8")
    assert "Apache License" in license_text and "Version 2.0, January 2004" in license_text
