"""The run report of `gazelle train`: per-class scores, confident mistakes, the model diagram,
the doctor's findings listed once, wrapping lines, learning curves, and (when a Chromium is
installed) the page as a browser draws it.

The runs are tiny (a few hundred samples, one or two epochs) and happen once per module.
"""
import contextlib
import html.parser
import io
import os
import re
import shutil
import subprocess
import types
import warnings

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.image  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

from gazelle import cli  # noqa: E402
from gazelle.utils.report import HtmlReport  # noqa: E402

RUNS = {
    "mlp": ["train", "fashion_mnist", "--limit", "300", "--epochs", "2"],
    "housing": ["train", "california_housing", "--limit", "300", "--epochs", "2"],
    "raw": ["train", "fashion_mnist", "--no-normalize", "--limit", "200", "--epochs", "1"],
}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """`run(name) -> (folder, stdout, report text)`, each run done once."""
    done = {}

    def get(name):
        if name not in done:
            out = str(tmp_path_factory.mktemp(name))
            stdout = io.StringIO()
            with contextlib.redirect_stdout(stdout), warnings.catch_warnings(record=True):
                assert cli.main(RUNS[name] + ["--out", out]) == 0
            with open(os.path.join(out, "report.html"), encoding="utf-8") as f:
                done[name] = out, stdout.getvalue(), f.read()
        return done[name]
    return get


class _Tables(html.parser.HTMLParser):
    """Each table after an <h2>, as {heading: [rows of cell texts]}."""

    def __init__(self):
        super().__init__()
        self.tables, self.heading, self.cell, self.row = {}, None, None, None
        self.in_heading = False

    def handle_starttag(self, tag, attrs):
        if tag == "h2":
            self.in_heading, self.heading = True, ""
        elif tag == "table":
            self.tables[self.heading] = []
        elif tag == "tr":
            self.row = []
        elif tag in ("td", "th"):
            self.cell = ""

    def handle_endtag(self, tag):
        if tag == "h2":
            self.in_heading = False
        elif tag in ("td", "th"):
            self.row.append(self.cell)
            self.cell = None
        elif tag == "tr":
            self.tables[self.heading].append(self.row)

    def handle_data(self, data):
        if self.in_heading:
            self.heading += data
        elif self.cell is not None:
            self.cell += data


def _tables(report):
    parser = _Tables()
    parser.feed(report)
    return parser.tables


def _check_png(path, least=100):
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n", path
    image = matplotlib.image.imread(path)
    assert image.shape[0] > least and image.shape[1] > least, image.shape
    assert float(np.std(image[..., :3])) > 0.01, "the image is blank"
    return image


# -- per-class precision, recall, F1 -----------------------------------------------------------

def test_per_class_scores_match_sklearn():
    from sklearn.metrics import precision_recall_fscore_support
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 6, 200)
    y_pred = np.where(rng.random(200) < 0.6, y_true, rng.integers(0, 6, 200))
    y_true[y_true == 4] = 3          # class 4 never occurs: recall and F1 undefined -> 0
    y_pred[y_pred == 5] = 0          # class 5 never predicted: precision undefined -> 0
    scores = cli.per_class_scores(y_true, y_pred, 6)
    labels = list(range(6))
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    np.testing.assert_allclose(scores["precision"], p)
    np.testing.assert_allclose(scores["recall"], r)
    np.testing.assert_allclose(scores["f1"], f)
    np.testing.assert_array_equal(scores["support"], s)
    assert scores["recall"][4] == 0 and scores["precision"][5] == 0

    names = [f"c{i}" for i in range(6)]
    rows = cli.classification_rows(y_true, y_pred, names)
    assert [row[0] for row in rows] == names + ["macro avg", "weighted avg"]
    for row, average in ((rows[-2], "macro"), (rows[-1], "weighted")):
        expected = precision_recall_fscore_support(y_true, y_pred, labels=labels,
                                                    average=average, zero_division=0)[:3]
        assert [float(v) for v in row[1:4]] == pytest.approx(expected, abs=5e-5)
        assert row[4] == "200"
    assert rows[0][1:4] == tuple(f"{v:.4f}" for v in (p[0], r[0], f[0]))


def test_per_class_scores_check_their_inputs():
    with pytest.raises(ValueError, match="same length; received 3 and 2"):
        cli.per_class_scores([0, 1, 1], [0, 1], 2)
    with pytest.raises(ValueError, match=r"`y_pred` must hold labels in \[0, 2\)"):
        cli.per_class_scores([0, 1], [0, 2], 2)


def test_report_has_the_per_class_table(run):
    _, stdout, report = run("mlp")
    tables = _tables(report)
    table = tables["Per-class precision, recall and F1"]
    assert table[0] == ["class", "precision", "recall", "F1", "support"]
    assert [row[0] for row in table[1:]] == list(cli.FASHION_MNIST_CLASSES) + [
        "macro avg", "weighted avg"]
    assert sum(int(row[4]) for row in table[1:11]) == 300 == int(table[-1][4])
    for row in table[1:]:
        assert all(0 <= float(v) <= 1 for v in row[1:4])
    # The support-weighted recall is the accuracy that evaluate() printed.
    accuracy = float(re.search(r"test accuracy: (\d\.\d{4})", stdout).group(1))
    assert float(table[-1][2]) == pytest.approx(accuracy, abs=2e-4)
    # The table sits with the test metrics, before the per-epoch logs.
    assert report.index("Test metrics") < report.index("Per-class") < report.index("Last epoch")


def test_regression_report_has_no_classifier_sections(run):
    out, _, report = run("housing")
    assert "Per-class" not in report and "Most confident mistakes" not in report
    assert not os.path.exists(os.path.join(out, "confident_mistakes.png"))
    assert 'src="model.png"' in report
    _check_png(os.path.join(out, "model.png"))


# -- most confident mistakes ---------------------------------------------------------------------

def test_confident_mistakes_are_wrong_and_ordered_by_loss():
    probabilities = np.array([[0.9, 0.1, 0.0],    # right
                              [0.2, 0.7, 0.1],    # wrong, p(true) 0.2
                              [0.01, 0.98, 0.01],  # wrong, p(true) 0.01: the worst
                              [0.3, 0.3, 0.4],    # right
                              [0.5, 0.45, 0.05]])  # wrong, p(true) 0.45
    y_true = np.array([0, 0, 0, 2, 1])
    assert cli.confident_mistakes(y_true, probabilities).tolist() == [2, 1, 4]
    assert cli.confident_mistakes(y_true, probabilities, n=2).tolist() == [2, 1]
    assert cli.confident_mistakes(np.array([0, 1]), np.eye(2)).tolist() == []
    assert cli.mistake_title("Coat", "Shirt", 0.966) == "true: Coat / predicted: Shirt (p=0.97)"
    assert (cli.mistake_title("Coat", "Shirt", 0.966, 0.012)
            == "true: Coat (p=0.01) / predicted: Shirt (p=0.97)")


def test_confident_mistakes_grid_titles():
    x = np.random.default_rng(1).integers(0, 255, (3, 28, 28)).astype(np.uint8)
    probabilities = np.array([[0.03, 0.97], [0.9, 0.1], [0.4, 0.6]])
    fig = cli.plot_confident_mistakes(x, np.array([0, 1, 0]), probabilities, ("cat", "dog"),
                                      [0, 1])
    try:
        titles = [ax.get_title().replace("\n", "") for ax in fig.axes if ax.get_title()]
        assert titles == ["true: cat (p=0.03) /predicted: dog (p=0.97)",
                          "true: dog (p=0.10) /predicted: cat (p=0.90)"]
        assert len(fig.axes[0].images) == 1
    finally:
        plt.close(fig)


def test_report_shows_the_confident_mistakes(run):
    out, _, report = run("mlp")
    assert "<h2>Most confident mistakes</h2>" in report
    assert 'src="confident_mistakes.png"' in report
    _check_png(os.path.join(out, "confident_mistakes.png"), least=300)


# -- the model diagram ---------------------------------------------------------------------------

def test_report_shows_the_model_diagram(run):
    out, _, report = run("mlp")
    assert 'src="model.png"' in report and 'href="model.png"' in report
    # after the model summary it draws
    assert report.index("Total params:") < report.index('src="model.png"')
    image = _check_png(os.path.join(out, "model.png"))
    assert image.shape[0] > image.shape[1]  # four layers stacked top to bottom


def test_a_failing_diagram_is_a_note_not_a_crash(tmp_path):
    diagram, note = cli.write_model_diagram(types.SimpleNamespace(built=False), str(tmp_path))
    assert diagram is None and note.startswith("The model diagram was skipped: ValueError")


# -- the doctor's findings, each once; wrapping ------------------------------------------------

def test_merge_findings_lists_each_code_once():
    fit = ["unscaled_input: Inputs look unscaled (fit)", "unscaled_input: again"]
    diagnosed = [("unscaled_input", "unscaled_input: Inputs look unscaled (diagnose)"),
                 ("vanishing_gradients", "vanishing_gradients: zero gradients"),
                 (None, "a free-form line"), (None, "a free-form line")]
    assert cli.merge_findings(fit, diagnosed) == [
        "unscaled_input: Inputs look unscaled (fit)", "vanishing_gradients: zero gradients",
        "a free-form line"]
    assert cli.merge_findings([], []) == []


def test_diagnose_findings_become_code_text_pairs(monkeypatch):
    import importlib.machinery
    import sys
    finding = types.SimpleNamespace
    module = types.ModuleType("gazelle.doctor")
    module.__spec__ = importlib.machinery.ModuleSpec("gazelle.doctor", None)
    module.diagnose = lambda model, x, y: [
        finding(code="underfitting", severity="warning", message="Underfitting: too simple"),
        finding(code="dead_relus", severity="warning", message="60% are dead"), "plain line"]
    monkeypatch.setitem(sys.modules, "gazelle.doctor", module)
    entries = cli._diagnose(None, np.zeros(2), None)
    assert entries == [("underfitting", "underfitting: too simple"),
                       ("dead_relus", "dead_relus: 60% are dead"), (None, "plain line")]
    assert cli.merge_findings(["dead_relus: seen during fit"], entries) == [
        "dead_relus: seen during fit", "underfitting: too simple", "plain line"]


def test_raw_run_lists_the_doctors_findings_once(run):
    _, _, report = run("raw")
    doctor = report[report.index("<h2>Training doctor</h2>"):report.index("<h2>Model summary")]
    codes = re.findall(r"<li>([a-z_]+):", doctor)
    assert "unscaled_input" in codes
    assert len(codes) == len(set(codes)), codes
    assert doctor.count("Inputs look unscaled") == 1
    assert "<pre>" not in doctor and "No findings" not in doctor


def test_long_lines_wrap():
    page = HtmlReport("wrap").to_html()
    style = page[page.index("<style>"):page.index("</style>")]
    assert "white-space: pre-wrap" in style and "overflow-wrap: anywhere" in style
    assert "overflow-x: auto" not in style


# -- learning curves -----------------------------------------------------------------------------

def test_learning_curves_count_epochs_from_one_on_separate_axes(tmp_path):
    history = {"loss": [1.0, 0.6, 0.5], "accuracy": [0.5, 0.7, 0.8],
               "val_loss": [1.1, 0.8, 0.7], "val_accuracy": [0.4, 0.6, 0.7]}
    fig = cli.plot_learning_curves(history, path=str(tmp_path / "curves.png"))
    try:
        loss_ax, metric_ax = fig.axes
        assert [line.get_label() for line in loss_ax.lines] == ["loss", "val_loss"]
        assert [line.get_label() for line in metric_ax.lines] == ["accuracy", "val_accuracy"]
        for ax in (loss_ax, metric_ax):
            assert ax.get_xlabel() == "epoch"
            for line in ax.lines:
                assert list(line.get_xdata()) == [1, 2, 3]
        assert loss_ax.get_ylabel() == "loss" and metric_ax.get_ylabel() == "accuracy"
        assert metric_ax.get_ylim() == (0, 1)
    finally:
        plt.close(fig)
    _check_png(tmp_path / "curves.png")

    fig = cli.plot_learning_curves({"loss": [3.0, 2.0], "val_loss": [3.5, 2.5]})
    try:
        assert len(fig.axes) == 1 and fig.axes[0].get_ylabel() == "loss"
        assert list(fig.axes[0].lines[0].get_xdata()) == [1, 2]
    finally:
        plt.close(fig)


def test_run_learning_curves_file(run):
    out, _, report = run("mlp")
    image = _check_png(os.path.join(out, "learning_curves.png"))
    assert image.shape[:2] == (500, 800)
    assert "counted from 1" in report


# -- the page in a headless browser --------------------------------------------------------------

def _browser():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.mark.skipif(_browser() is None, reason="no Chromium/Chrome binary installed "
                    "(chromium, chromium-browser or google-chrome); the screenshot check "
                    "needs one")
def test_report_renders_in_a_headless_browser(run, tmp_path):
    out, _, _ = run("mlp")
    shot = tmp_path / "report.png"
    result = subprocess.run(
        [_browser(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         # no background connections (the network may be closed) and a fresh profile
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
         f"--screenshot={shot}", "--window-size=1100,2400",
         "file://" + os.path.abspath(os.path.join(out, "report.html"))],
        capture_output=True, text=True, timeout=120)
    assert shot.exists(), result.stderr[-2000:]
    assert shot.stat().st_size > 20000   # text, tables and pictures, not a blank page
    image = matplotlib.image.imread(str(shot))
    assert image.shape[:2] == (2400, 1100)
    assert float(np.std(image[..., :3])) > 0.05
