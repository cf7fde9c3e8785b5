"""Live TensorRT-RTX builds for the parser checks: each rule's test builds the model its
check rejects (the parser's error message is asserted) and a near copy it accepts."""

from __future__ import annotations

import pytest


class LiveParser:
    """Builds models saved under the test's ``tmp_path`` with TensorRT-RTX
    (:func:`fusionlab.verification.verify`, in a worker subprocess, 300 s timeout)."""

    def __init__(self, tmp_path):
        self.tmp_path = tmp_path

    def _save(self, model, name: str):
        import onnx

        path = self.tmp_path / name
        onnx.save(model, path)
        return path

    def rejects(self, model, name: str, **verify_args) -> str:
        """The message of the :class:`fusionlab.errors.BuildError` the build of ``model``
        (saved as ``name``) raises; fails the test when it builds."""
        from fusionlab.errors import BuildError
        from fusionlab.verification import verify

        with pytest.raises(BuildError) as err:
            verify(self._save(model, name), target="tensorrt-rtx", timeout=300, **verify_args)
        return err.value.message

    def builds(self, model, name: str, **verify_args) -> bool:
        """Whether the build of ``model`` (saved as ``name``) yields engine layers."""
        from fusionlab.verification import verify

        return bool(verify(self._save(model, name), target="tensorrt-rtx", timeout=300,
                           **verify_args).observed)


@pytest.fixture
def live_parser(tmp_path) -> LiveParser:
    """:class:`LiveParser` writing under the test's ``tmp_path``."""
    return LiveParser(tmp_path)
