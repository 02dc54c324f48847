"""The `gazelle` command line, run in-process on small slices of the bundled datasets.

Each run (`--epochs 1` on a few hundred samples) happens once per module and several tests
inspect its folder: files, PNGs, history.csv, and the links and findings in report.html.
"""
import contextlib
import html.parser
import importlib.machinery
import io
import os
import re
import subprocess
import sys
import types
import warnings

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.image  # noqa: E402

from gazelle import cli  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
RUNS = {
    "mlp": ["train", "fashion_mnist", "--limit", "600", "--epochs", "1"],
    "housing": ["train", "california_housing", "--limit", "600", "--epochs", "1"],
    "cnn": ["train", "mnist", "--model", "cnn", "--limit", "200", "--epochs", "1"],
    "raw": ["train", "fashion_mnist", "--no-normalize", "--limit", "600", "--epochs", "1"],
}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Returns `run(name) -> (folder, stdout, exit status, warnings)`, running each call once."""
    done = {}

    def get(name):
        if name not in done:
            out = str(tmp_path_factory.mktemp(name))
            stdout = io.StringIO()
            with contextlib.redirect_stdout(stdout), warnings.catch_warnings(record=True) as w:
                status = cli.main(RUNS[name] + ["--out", out])
            done[name] = out, stdout.getvalue(), status, [x.category.__name__ for x in w]
        return done[name]
    return get


def _links(report_path):
    class Links(html.parser.HTMLParser):
        found = set()

        def handle_starttag(self, tag, attrs):
            self.found.update(v for k, v in attrs if k in ("src", "href"))

    parser = Links()
    with open(report_path, encoding="utf-8") as f:
        parser.feed(f.read())
    return parser.found


def _check_png(path):
    with open(path, "rb") as f:
        assert f.read(8) == PNG_SIGNATURE, path
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100, image.shape
    return image.shape[:2]


def _has_onnx():
    import importlib.util
    return all(importlib.util.find_spec(m) is not None for m in ("onnx", "onnxruntime"))


def test_run_folder_has_a_checked_onnx_model(run):
    out, _, status, _ = run("mlp")
    if not _has_onnx():
        assert "pip install 'gazelle[export]'" in open(os.path.join(out, "report.html")).read()
        return
    report = open(os.path.join(out, "report.html"), encoding="utf-8").read()
    assert "onnxruntime check" in report and "max abs difference vs predict" in report
    import re
    diff = float(re.search(r"max abs difference vs predict</td><td>([0-9.e+-]+)", report)
                 .group(1))
    assert diff < 1e-5


def _has_save():
    from gazelle.models import Sequential
    return hasattr(Sequential, "save")


@pytest.mark.parametrize("name", ["mlp", "housing", "cnn", "raw"])
def test_run_writes_every_file_and_the_report_links_them(run, name):
    out, _, status, _ = run(name)
    assert status == 0
    pngs = ({"learning_curves.png", "predictions_vs_true.png", "model.png"} if name == "housing"
            else {"learning_curves.png", "samples.png", "confusion_matrix.png", "model.png",
                  "confident_mistakes.png"})
    expected = pngs | {"history.csv", "report.html"} | ({"model.keras"} if _has_save() else set())
    if _has_onnx():
        expected |= {"model.onnx"}
    assert set(os.listdir(out)) == expected  # and no temporary files left behind
    links = _links(os.path.join(out, "report.html"))
    assert links == expected - {"report.html"}
    for png in pngs:
        _check_png(os.path.join(out, png))
    report = open(os.path.join(out, "report.html"), encoding="utf-8").read()
    assert "gazelle " + " ".join(RUNS[name]) in report  # the command line
    assert "Total params:" in report and "Timings" in report
    if _has_save():
        with open(os.path.join(out, "model.keras"), "rb") as f:
            assert f.read(4) == b"PK\x03\x04"  # a .keras file is a zip archive
    else:
        assert "has no save() yet" in report


def test_mlp_run_follows_the_tutorial(run):
    out, stdout, _, _ = run("mlp")
    # --limit 600 keeps the tutorial's split: the first 1/12 of the images validate.
    assert "Train on 550 samples, validate on 50 samples" in stdout
    assert "550/550 [==============================]" in stdout
    assert "Total params: 266,610" in stdout  # the tutorial's model
    assert _check_png(os.path.join(out, "learning_curves.png")) == (500, 800)  # figsize (8, 5)
    report = open(os.path.join(out, "report.html"), encoding="utf-8").read()
    accuracy = re.search(r"test accuracy: (\d\.\d{4})", stdout).group(1)
    assert f"<td>test accuracy</td><td>{accuracy}</td>" in report
    assert "550 / 50 / 600" in report and "No findings" in report


def test_history_csv_holds_what_fit_printed(run):
    out, stdout, _, _ = run("mlp")
    with open(os.path.join(out, "history.csv"), newline="") as f:
        lines = f.read().split("\r\n")
    assert lines[0] == "epoch,accuracy,loss,val_accuracy,val_loss"
    assert lines[2:] == [""] and lines[1].startswith("0,")
    values = dict(zip(lines[0].split(","), map(float, lines[1].split(","))))
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert f" {key}: {values[key]:.4f}" in stdout


def test_history_csv_equals_csv_logger_output(tmp_path):
    from gazelle.callbacks import CSVLogger
    logs = [{"loss": 0.5, "accuracy": 0.8, "val_loss": 0.6}, {"loss": 0.25, "accuracy": 0.9,
                                                               "val_loss": 0.45}]
    logger = CSVLogger(tmp_path / "logger.csv")
    logger.on_train_begin()
    for epoch, epoch_logs in enumerate(logs):
        logger.on_epoch_end(epoch, epoch_logs)
    logger.on_train_end()
    history = types.SimpleNamespace(epoch=[0, 1], history={k: [d[k] for d in logs]
                                                            for k in logs[0]})
    cli.write_history_csv(tmp_path / "ours.csv", history)
    assert (tmp_path / "ours.csv").read_bytes() == (tmp_path / "logger.csv").read_bytes()


def test_regression_run_reports_dollars_and_r2(run):
    out, stdout, _, _ = run("housing")
    assert "Train on 450 samples, validate on 150 samples" in stdout
    with open(os.path.join(out, "history.csv")) as f:
        assert f.readline().strip() == "epoch,loss,val_loss"
    report = open(os.path.join(out, "report.html"), encoding="utf-8").read()
    for text in ("test RMSE", "test MAE", "test R²", "SGD", "<td>learning rate</td><td>0.001</td>"):
        assert text in report


def test_cnn_run_uses_the_convolutional_model_and_adam(run):
    out, stdout, _, _ = run("cnn")
    assert "conv2d (Conv2D)" in stdout and "dropout (Dropout)" in stdout
    assert "(None, 28, 28, 32)" in stdout  # padding "same"
    assert "Train on 183 samples, validate on 17 samples" in stdout
    report = open(os.path.join(out, "report.html"), encoding="utf-8").read()
    assert "<td>optimizer</td><td>Adam</td>" in report


def test_raw_pixels_run_reports_the_doctors_diagnosis(run):
    out, _, _, shown = run("raw")
    assert "DoctorWarning" in shown  # the user sees it too, not only the report
    report = open(os.path.join(out, "report.html"), encoding="utf-8").read()
    doctor = report[report.index("<h2>Training doctor</h2>"):report.index("<h2>Model summary")]
    assert "Inputs look unscaled" in doctor and "x / 255.0" in doctor
    assert "No findings" not in doctor
    assert "none (raw inputs)" in report


def test_default_run_folder_is_a_new_timestamped_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first, second = cli._run_dir(None), cli._run_dir(None)
    assert first != second
    assert os.path.dirname(first) == os.path.dirname(second) == "runs"
    assert re.fullmatch(r"\d{8}-\d{6}(-\d+)?", os.path.basename(first))
    assert os.path.isdir(first) and os.path.isdir(second)


def test_an_optional_gazelle_doctor_module_is_included(monkeypatch):
    module = types.ModuleType("gazelle.doctor")
    module.__spec__ = importlib.machinery.ModuleSpec("gazelle.doctor", None)
    module.diagnose = lambda model, x, y: ["finding one", f"{len(x)} samples"]
    monkeypatch.setitem(sys.modules, "gazelle.doctor", module)
    assert cli._doctor_report(None, np.zeros(3), None) == "finding one\n3 samples"

    def broken(model, x, y):
        raise RuntimeError("boom")
    module.diagnose = broken
    assert "diagnose failed: RuntimeError: boom" in cli._doctor_report(None, [], None)


def test_help_and_bad_arguments(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["--help"])
    assert e.value.code == 0 and "train" in capsys.readouterr().out
    with pytest.raises(SystemExit) as e:
        cli.main(["train", "--help"])
    out = capsys.readouterr().out
    assert e.value.code == 0
    for option in ("--model", "--epochs", "--batch-size", "--optimizer", "--learning-rate",
                   "--no-normalize", "--seed", "--limit", "--out"):
        assert option in out
    for argv, message in [
            (["train", "fashion_mnist", "--epochs", "0"],
             "argument --epochs: expected a positive integer, received '0'"),
            (["train", "fashion_mnist", "--learning-rate", "nan"],
             "argument --learning-rate: expected a positive number, received 'nan'"),
            (["train", "mnist", "--limit", "1"], "argument --limit: expected at least 2"),
            (["train", "cifar"], "invalid choice: 'cifar' (choose from"),
            (["train", "mnist", "--optimizer", "lion"], "argument --optimizer: invalid choice"),
            (["train", "california_housing", "--model", "cnn"],
             "argument --model: 'cnn' needs an image dataset")]:
        with pytest.raises(SystemExit) as e:
            cli.main(argv)
        assert e.value.code == 2
        assert message in capsys.readouterr().err


def test_python_dash_m_gazelle_runs_the_cli():
    result = subprocess.run([sys.executable, "-m", "gazelle", "train", "--help"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "usage: gazelle train" in result.stdout


def test_version_flag_prints_the_package_version(capsys):
    import gazelle
    from gazelle import cli
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"gazelle {gazelle.__version__}"
