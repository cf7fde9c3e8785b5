"""A path with a NUL byte, longer than PATH_MAX or with a name longer than NAME_MAX, given
to any path option or argument, is one line ``fusionlab: error: ...`` and exit 2: never a
traceback, an internal error (``OSError: File name too long``) or a raw "embedded null
byte" ValueError (issue 10: "paths with NUL or over the OS limit are bad input")."""

from __future__ import annotations

import pytest

import fusionlab
from fusionlab.errors import InputError
from fusionlab.files import NAME_MAX, PATH_MAX, check_path

from test_bad_input import assert_one_line_error

LONG_NAME = "n" * (NAME_MAX + 1) + ".onnx"
LONG_PATH = "/".join(["d" * 200] * (PATH_MAX // 200 + 1)) + "/m.onnx"
NUL = "bad\x00name.onnx"

# (path kind, the path, fragment of the error line)
KINDS = [
    ("nul", NUL, "NUL byte"),
    ("name-over-NAME_MAX", LONG_NAME, "(NAME_MAX)"),
    ("path-over-PATH_MAX", LONG_PATH, "(PATH_MAX)"),
]

# (command line with BAD where the path goes; MODEL is resnet18, TMP the test's folder)
COMMANDS = [
    ["analyze", "BAD"],
    ["analyze", "MODEL", "-o", "BAD"],
    ["analyze", "MODEL", "--config", "BAD"],
    ["analyze", "MODEL", "--baseline", "BAD"],
    ["config", "BAD"],
    ["config", "--config", "BAD"],
    ["verify", "BAD", "--log", "MODEL"],
    ["verify", "MODEL", "--layer-info", "BAD"],
    ["verify", "MODEL", "--log", "BAD"],
    ["verify", "MODEL", "--layer-info", "INFO", "--profile", "BAD"],
    ["verify", "MODEL", "--save-log", "BAD"],
    ["verify", "MODEL", "--save-engine", "BAD"],
    ["verify", "MODEL", "--timing-cache", "BAD"],
    ["verify", "--corpus", "BAD"],
    ["verify", "--corpus", "TMP", "-o", "BAD"],
    ["rewrite", "BAD", "--dry-run"],
    ["rewrite", "MODEL", "-o", "BAD"],
    ["rewrite", "MODEL", "--dry-run", "--report", "BAD"],
]

CASES = [(kind, path, fragment, command) for kind, path, fragment in KINDS for command in COMMANDS]


def _id(case):
    kind, _, _, command = case
    return f"{kind}:{' '.join(a for a in command if a not in ('MODEL', 'TMP', 'INFO'))}"


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_unusable_path_is_one_line_exit_2(cli, models_dir, trt_artifacts, tmp_path, case):
    _, bad, fragment, command = case
    info = next(trt_artifacts.rglob("*.graph.json"))
    subst = {"BAD": bad, "MODEL": str(models_dir / "resnet18.onnx"), "TMP": str(tmp_path), "INFO": str(info)}
    code, out, err = cli(*[subst.get(a, a) for a in command])
    assert_one_line_error(code, err, fragment)
    assert out == ""
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("kind", KINDS, ids=[k[0] for k in KINDS])
def test_api_raises_input_error(kind):
    _, bad, fragment = kind
    with pytest.raises(InputError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        fusionlab.analyze(bad)


def test_limits_are_the_file_systems(tmp_path):
    """The longest name and path the system takes pass; one byte more is refused."""
    ok = tmp_path / ("n" * NAME_MAX)
    ok.write_text("x")  # the kernel takes it
    assert check_path(ok) == ok
    with pytest.raises(InputError, match="NAME_MAX"):
        check_path(tmp_path / ("n" * (NAME_MAX + 1)))
    with pytest.raises(InputError, match="PATH_MAX"):
        check_path("/" + "d/" * (PATH_MAX // 2))
