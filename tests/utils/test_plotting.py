"""Plot helpers (pandas and scikit-learn as oracles) and the HTML report writer.

Keras has no plot_history/plot_images/plot_confusion_matrix, so the oracles are the
tutorial's own tools: `pd.DataFrame(history.history).plot(...)` for the learning curves and
`sklearn.metrics.confusion_matrix` for the matrix.
"""
import html.parser
import os
import sys

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.image  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

from gazelle.utils import plotting  # noqa: E402
from gazelle.utils.report import HtmlReport  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
LOGS = {"loss": [0.9, 0.5, 0.41, 0.3], "accuracy": [0.6, 0.8, 0.85, 0.9],
        "val_loss": [0.8, 0.6, 0.5, 0.52], "val_accuracy": [0.7, 0.78, 0.82, 0.81]}


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


class _History:
    def __init__(self, logs):
        self.history = logs
        self.epoch = list(range(len(next(iter(logs.values())))))


def test_plot_history_matches_the_tutorials_pandas_plot():
    import pandas as pd
    ax_ref = pd.DataFrame(LOGS).plot(figsize=(8, 5))
    plt.grid(True)
    plt.gca().set_ylim(0, 1)
    fig = plotting.plot_history(_History(LOGS))
    ax = fig.axes[0]
    assert [ln.get_label() for ln in ax.get_lines()] == [
        ln.get_label() for ln in ax_ref.get_lines()]
    for ours, ref in zip(ax.get_lines(), ax_ref.get_lines()):
        np.testing.assert_allclose(ours.get_xdata(), ref.get_xdata())
        np.testing.assert_allclose(ours.get_ydata(), ref.get_ydata())
        assert ours.get_color() == ref.get_color()
    np.testing.assert_allclose(ax.get_xlim(), ax_ref.get_xlim())
    np.testing.assert_allclose(ax.get_ylim(), ax_ref.get_ylim())
    np.testing.assert_allclose(fig.get_size_inches(), ax_ref.figure.get_size_inches())
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(LOGS)
    assert ax.xaxis.get_gridlines()[0].get_visible()


def test_plot_history_takes_a_dict_ylim_none_and_saves_a_png(tmp_path):
    path = tmp_path / "curves.png"
    fig = plotting.plot_history({"loss": [5.0, 3.0]}, figsize=(4, 3), ylim=None, path=path)
    assert fig.axes[0].get_ylim()[1] > 5.0  # fitted to the data, not clipped at 1
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    assert matplotlib.image.imread(path).shape[:2] == (300, 400)  # 100 dpi
    assert os.listdir(tmp_path) == ["curves.png"]  # no temporary file left behind


def test_plot_history_rejects_bad_input():
    with pytest.raises(TypeError, match="`history` must be a History object or a dict.*list"):
        plotting.plot_history([0.1, 0.2])
    with pytest.raises(ValueError, match="`history` is empty"):
        plotting.plot_history({})


def test_save_figure_uses_the_extension_as_format(tmp_path):
    fig = plotting.plot_history(LOGS)
    plotting.save_figure(fig, tmp_path / "curves.svg")
    assert b"<svg" in (tmp_path / "curves.svg").read_bytes()[:1000]
    plotting.save_figure(fig, tmp_path / "curves")
    assert (tmp_path / "curves").read_bytes()[:8] == PNG_SIGNATURE


def test_confusion_matrix_matches_sklearn():
    from sklearn.metrics import confusion_matrix
    rng = np.random.default_rng(0)
    y_true, y_pred = rng.integers(0, 6, 300), rng.integers(0, 6, 300)
    np.testing.assert_array_equal(plotting.confusion_matrix(y_true, y_pred),
                                  confusion_matrix(y_true, y_pred))
    probs = np.eye(8)[y_pred] * 0.9 + 0.01  # probabilities and one-hot rows are argmax-ed
    np.testing.assert_array_equal(
        plotting.confusion_matrix(np.eye(8)[y_true], probs, num_classes=8),
        confusion_matrix(y_true, y_pred, labels=range(8)))


def test_confusion_matrix_rejects_bad_labels():
    with pytest.raises(ValueError, match="`y_true` holds 3 labels but `y_pred` holds 2"):
        plotting.confusion_matrix([0, 1, 2], [0, 1])
    with pytest.raises(ValueError, match="`num_classes` is 2 but a label is 4"):
        plotting.confusion_matrix([0, 1, 4], [0, 1, 1], num_classes=2)
    with pytest.raises(ValueError, match="`y_pred` must hold integer class labels.*0.5"):
        plotting.confusion_matrix([0, 1], [0.5, 1.0])


def test_plot_confusion_matrix_shows_counts_or_row_fractions(tmp_path):
    from sklearn.metrics import confusion_matrix
    rng = np.random.default_rng(1)
    y_true, y_pred = rng.integers(0, 3, 50), rng.integers(0, 3, 50)
    names = ["cat", "dog", "bird"]
    fig = plotting.plot_confusion_matrix(y_true, y_pred, names, path=tmp_path / "cm.png")
    ax = fig.axes[0]
    expected = confusion_matrix(y_true, y_pred)
    np.testing.assert_array_equal(ax.images[0].get_array(), expected)
    assert [t.get_text() for t in ax.texts] == [str(v) for v in expected.ravel()]
    assert [t.get_text() for t in ax.get_xticklabels()] == names
    assert [t.get_text() for t in ax.get_yticklabels()] == names
    assert (tmp_path / "cm.png").read_bytes()[:8] == PNG_SIGNATURE
    fig = plotting.plot_confusion_matrix(y_true, y_pred, names, normalize=True)
    np.testing.assert_allclose(fig.axes[0].images[0].get_array(),
                               confusion_matrix(y_true, y_pred, normalize="true"))


def test_plot_images_titles_and_marks_mistakes_in_red(tmp_path):
    x = np.random.default_rng(2).integers(0, 256, (7, 28, 28, 1)).astype(np.uint8)
    y = np.array([0, 1, 2, 0, 1, 2, 0])
    names = ["T-shirt/top", "Trouser", "Pullover"]
    fig = plotting.plot_images(x, y, names)  # 3 x 5 grid, 7 images
    assert len(fig.axes) == 7
    assert [ax.get_title() for ax in fig.axes] == [names[i] for i in y]
    np.testing.assert_array_equal(fig.axes[3].images[0].get_array(), x[3, ..., 0])
    y_pred = y.copy()
    y_pred[[1, 4]] = 2
    fig = plotting.plot_images(x, y, names, n_rows=2, n_cols=2, y_pred=np.eye(3)[y_pred],
                               path=tmp_path / "grid.png")
    assert len(fig.axes) == 4
    assert fig.axes[1].get_title() == "Pullover\n(true: Trouser)"
    assert matplotlib.colors.same_color(fig.axes[1].title.get_color(), "red")
    assert fig.axes[0].get_title() == "T-shirt/top"
    assert not matplotlib.colors.same_color(fig.axes[0].title.get_color(), "red")
    assert (tmp_path / "grid.png").read_bytes()[:8] == PNG_SIGNATURE


def test_plot_images_rejects_bad_input():
    x = np.zeros((4, 8, 8))
    with pytest.raises(ValueError, match=r"`x` must be images of shape.*\(4, 8\)"):
        plotting.plot_images(np.zeros((4, 8)), [0, 1, 0, 1], None)
    with pytest.raises(ValueError, match="`x` holds 4 images but `y` holds 3 labels"):
        plotting.plot_images(x, [0, 1, 0], None)
    with pytest.raises(ValueError, match="`n_rows` must be a positive integer; received 0"):
        plotting.plot_images(x, [0, 1, 0, 1], None, n_rows=0)
    with pytest.raises(ValueError, match="Label 3 has no entry in `class_names`"):
        plotting.plot_images(x, [0, 1, 0, 3], ["a", "b"])


def test_plot_predictions_vs_true(tmp_path):
    y_true = np.linspace(0.5, 5.0, 20)
    y_pred = y_true[:, None] * 0.9
    fig = plotting.plot_predictions_vs_true(y_true, y_pred, path=tmp_path / "fit.png")
    ax = fig.axes[0]
    np.testing.assert_allclose(ax.collections[0].get_offsets(),
                               np.stack([y_true, y_pred[:, 0]], axis=1))
    assert ax.get_xlabel() == "True value" and ax.get_ylabel() == "Predicted value"
    assert (tmp_path / "fit.png").read_bytes()[:8] == PNG_SIGNATURE
    with pytest.raises(ValueError, match="`y_true` holds 20 values but `y_pred` holds 3"):
        plotting.plot_predictions_vs_true(y_true, [1, 2, 3])


def test_missing_matplotlib_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    with pytest.raises(ImportError, match=r'pip install "gazelle\[plot\]"'):
        plotting.plot_history(LOGS)


class _Collector(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.attrs, self.text = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend(attrs)

    def handle_data(self, data):
        self.text.append(data)


def test_html_report_escapes_text_and_links_files(tmp_path):
    report = HtmlReport("Run <1>")
    report.heading("Metrics & more")
    report.table([("accuracy", 0.9)], header=("metric", "value"))
    report.text("<script>alert(1)</script>", warning=True)
    report.items(["a < b"])
    report.preformatted(["line 1", "  line 2"])
    report.image("curves.png", caption="Learning curves")
    report.links([("history.csv", "per-epoch logs")])
    path = tmp_path / "report.html"
    report.write(path)
    page = path.read_text(encoding="utf-8")
    parser = _Collector()
    parser.feed(page)
    assert "script" not in parser.tags  # user text never becomes markup
    assert "<script>alert(1)</script>" in "".join(parser.text)
    assert ("src", "curves.png") in parser.attrs and ("href", "history.csv") in parser.attrs
    assert "line 1\n  line 2" in page
    assert parser.tags.count("table") == 1 and parser.tags.count("th") == 2
    assert "<title>Run &lt;1&gt;</title>" in page
    assert os.listdir(tmp_path) == ["report.html"]
