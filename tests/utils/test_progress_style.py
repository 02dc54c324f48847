"""keras.config.set_progress_style("keras3"): Keras 3's step counter, checked against
Keras 3's own Progbar (same clock, same values), and through fit."""
import re

import keras as k3
import numpy as np
import pytest

import gazelle as keras
from gazelle.utils import progbar as gprogbar

_CONTROL = re.compile(r"\x1b\[\d+m")


def _last_line(text):
    lines = re.split(r"[\b\r\n]", _CONTROL.sub("", text))
    return [line for line in lines if line.strip()][-1].rstrip()


def _drive(bar_cls, module_time, monkeypatch, capsys, clock_attr, **kwargs):
    now = [100.0]
    monkeypatch.setattr(module_time[0], module_time[1], lambda: now[0])
    bar = bar_cls(50, verbose=kwargs.pop("verbose"), **kwargs)
    for step in (10, 30, 50):
        now[0] += 0.125 * (step // 10)
        bar.update(step, [("accuracy", 0.75 + step / 1000), ("loss", 0.0004 + step / 100)],
                   finalize=step == 50)
    return capsys.readouterr().out


@pytest.fixture
def keras3_style():
    keras.config.set_progress_style("steps")
    yield
    keras.config.set_progress_style("tf_keras2")


@pytest.mark.parametrize("verbose", [1, 2])
def test_final_line_matches_keras3(verbose, monkeypatch, capsys, keras3_style):
    import keras.src.utils.progbar as k3bar
    theirs = _drive(k3.utils.Progbar, (k3bar.time, "time"), monkeypatch, capsys, None,
                    verbose=verbose, stateful_metrics=["accuracy", "loss"])
    monkeypatch.setattr(gprogbar, "_is_dynamic_display", lambda: True)
    ours = _drive(gprogbar.Progbar, (gprogbar, "_clock"), monkeypatch, capsys, None,
                  verbose=verbose, stateful_metrics=["accuracy", "loss"])
    assert _last_line(ours) == _last_line(theirs)
    assert "━" in _last_line(ours) or verbose == 2


def test_plain_and_coloured_lines():
    plain = gprogbar.format_line_keras3(1719, 1719, 3.2, 0.0021, [("loss", 0.7204)])
    assert plain == "1719/1719 ━━━━━━━━━━━━━━━━━━━━ 3s 2ms/step - loss: 0.7204"
    coloured = gprogbar.format_line_keras3(860, 1719, 1.6, 0.0021, [], color=True)
    assert "\x1b[32m" in coloured and _CONTROL.sub("", coloured).startswith(
        " 860/1719 ━━━━━━━━━━━━━━━━━━━━ 1s 2ms/step")


def test_fit_prints_steps_in_keras3_style(capsys, keras3_style):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    model.fit(np.zeros((64, 3)), np.zeros((64, 1)), epochs=2, batch_size=32, verbose=1)
    out = capsys.readouterr().out
    assert "Train on" not in out and "Epoch 2/2" in out
    assert re.search(r"2/2 ━{20} \d+s \d+(ms|us|s)/step - loss: 0\.0000e\+00 - mae: ", out), out


def test_unknown_style_is_refused():
    with pytest.raises(ValueError, match="set_progress_style"):
        keras.config.set_progress_style("fancy")
