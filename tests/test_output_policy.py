"""Output policy (fusionlab.files.check_outputs): no output overwrites an input, another
output of the same run, or a special file; outputs are whole or absent, with the umask.

Each refusal is exit 2 with one ``fusionlab: error:`` line, before any work, and leaves
every file as it was.
"""

from __future__ import annotations

import os
import shutil
import stat

import onnx
import pytest

from fusionlab.files import write_atomic

from test_bad_input import assert_one_line_error

MOBILENET_INFO = ("tests/data/trt-artifacts/fuzzylabs_trtexec_trt10.4/mobilenet_v2/"
                  "mobilenet_v2_fp16.graph.json")


@pytest.fixture
def model(save_model, conv_relu_model):
    return save_model(conv_relu_model, "in.onnx")


@pytest.fixture
def external_model(tmp_path, conv_relu_model):
    """``in.onnx`` whose weights live in ``in.onnx.data`` (every tensor external)."""
    path = tmp_path / "in.onnx"
    onnx.save_model(conv_relu_model, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                    location="in.onnx.data", size_threshold=0)
    assert (tmp_path / "in.onnx.data").stat().st_size > 0
    return path


def snapshot(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def refused(cli, folder, *args, fragments=()):
    before = snapshot(folder)
    code, out, err = cli(*args)
    assert_one_line_error(code, err, *fragments)
    assert snapshot(folder) == before  # nothing written, nothing left behind
    return err


def test_analyze_output_onto_its_input(cli, tmp_path, model):
    refused(cli, tmp_path, "analyze", model, "-o", model, fragments=("-o/--output", "is the input file"))


def test_analyze_output_through_a_symlink_to_its_input(cli, tmp_path, model):
    link = tmp_path / "link.txt"
    link.symlink_to(model)
    refused(cli, tmp_path, "analyze", model, "-o", link, fragments=("is the input file",))


def test_analyze_output_onto_the_inputs_external_data(cli, tmp_path, external_model):
    refused(cli, tmp_path, "analyze", external_model, "-o", tmp_path / "in.onnx.data",
            fragments=("in.onnx.data", "is the input file"))


def test_rewrite_report_onto_the_input(cli, tmp_path, model):
    refused(cli, tmp_path, "rewrite", model, "-o", tmp_path / "out.onnx", "--report", model,
            fragments=("--report", "is the input file"))


def test_rewrite_report_onto_the_rewritten_model(cli, tmp_path, model):
    out = tmp_path / "out.onnx"
    refused(cli, tmp_path, "rewrite", model, "-o", out, "--report", out,
            fragments=("-o/--output and --report name the same file",))


def test_rewrite_output_onto_the_inputs_external_data(cli, tmp_path, external_model):
    refused(cli, tmp_path, "rewrite", external_model, "-o", tmp_path / "in.onnx.data",
            fragments=("in.onnx.data", "is the input file"))


def test_rewrite_in_place_report_onto_the_model(cli, tmp_path, model):
    refused(cli, tmp_path, "rewrite", model, "--in-place", "--report", model,
            fragments=("--report", "is the input file"))


def test_rewrite_in_place_with_external_data_still_allowed(cli, tmp_path, external_model):
    code, _, err = cli("rewrite", external_model, "--in-place", "--passes", "identity-erase")
    assert code == 0, err


@pytest.mark.parametrize("option", ["--save-log", "--save-engine", "-o", "--timing-cache"])
def test_verify_outputs_onto_the_model(cli, tmp_path, model, option):
    refused(cli, tmp_path, "verify", model, option, model, fragments=(option, "is the input file"))


def test_verify_save_log_onto_the_layer_info(cli, tmp_path, repo_root):
    src = tmp_path / "info.json"
    shutil.copy(repo_root / MOBILENET_INFO, src)
    refused(cli, tmp_path, "verify", repo_root / "models" / "mobilenet_v2.onnx", "--layer-info", src,
            "-o", src, fragments=("is the input file",))


def test_verify_two_outputs_one_file(cli, tmp_path, model):
    out = tmp_path / "same.txt"
    refused(cli, tmp_path, "verify", model, "--save-log", out, "--save-engine", out,
            fragments=("--save-log and --save-engine name the same file",))


def test_output_onto_a_fifo_is_refused_without_blocking(cli, tmp_path, model):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    err = refused(cli, tmp_path, "analyze", model, "-o", fifo)
    assert "a FIFO" in err and stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_output_onto_a_device_is_refused(cli, tmp_path, model):
    link = tmp_path / "null.txt"
    link.symlink_to("/dev/null")
    err = refused(cli, tmp_path, "analyze", model, "-o", link)
    assert "character device" in err
    assert os.path.islink(link) and stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_output_path_with_nul(cli, tmp_path, model):
    """One line, exit 2 (tests/test_path_limits.py has every option); check_writable refuses it
    for library callers."""
    from fusionlab.errors import InputError
    from fusionlab.files import check_writable

    before = snapshot(tmp_path)
    code, _, err = cli("analyze", model, "-o", f"{tmp_path}/a\x00b")
    assert code == 2 and "NUL byte" in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert snapshot(tmp_path) == before
    with pytest.raises(InputError, match="NUL"):
        check_writable(f"{tmp_path}/a\x00b")


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_outputs_get_the_users_umask(cli, tmp_path, model, umask):
    old = os.umask(umask)
    try:
        out = tmp_path / "report.txt"
        code, _, err = cli("analyze", model, "-o", out)
        assert code == 0, err
        assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask
        written = write_atomic(tmp_path / "x.json", "{}")
        assert stat.S_IMODE(written.stat().st_mode) == 0o666 & ~umask
    finally:
        os.umask(old)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.onnx", "report.txt", "x.json"]


def test_failed_write_leaves_no_temp_and_the_old_file(tmp_path):
    target = tmp_path / "keep.txt"
    target.write_text("old")
    with pytest.raises(TypeError):
        write_atomic(target, 12345)  # neither str nor bytes: the write fails midway
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


@pytest.mark.parametrize("option", ["-o", "--report"])
def test_planted_symlinks_at_the_old_temp_names_are_not_followed(cli, tmp_path, model, option):
    """Issue 10: outputs went through ``.NAME.<pid>.tmp``; a symlink planted under that name
    made the write land in its target. Temp names are random now (``tempfile.mkstemp``,
    O_EXCL): the planted links and their target stay as they were."""
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    out = tmp_path / "out.txt"
    planted = [tmp_path / f".out.txt.{os.getpid()}.tmp", tmp_path / ".out.txt.tmp"]
    for link in planted:
        link.symlink_to(victim)
    args = ["analyze", model, "-o", out] if option == "-o" else ["rewrite", model, "--dry-run", "--report", out]
    code, _, err = cli(*args)
    assert code == 0, err
    assert victim.read_text() == "precious"
    assert all(link.is_symlink() and os.readlink(link) == str(victim) for link in planted)
    assert out.read_text().strip()
