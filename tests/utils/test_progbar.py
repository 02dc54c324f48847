"""Progbar: golden strings in the tf.keras 2.0 format, terminal handling, rate limiting.

The expected strings follow tf.keras 2.0's `generic_utils.Progbar` rules, worked out by hand
(bar width 30, `int(30 * current / target)` cells, `%.4f`/`%.4e`, s/ms/us per unit), and the
final line shown in the course: `55000/55000 [====] - 2s 36us/sample - loss: 0.7125 ...`.
"""
import os
import sys
import types

import pytest

from gazelle.utils import io as io_utils
from gazelle.utils import progbar as progbar_module
from gazelle.utils.progbar import (Progbar, format_eta, format_line, format_time_per_unit,
                                   format_value)

COURSE_LINE = ("55000/55000 [==============================] - 2s 36us/sample - loss: 0.7125 "
               "- accuracy: 0.7660 - val_loss: 0.5080 - val_accuracy: 0.8282")
COURSE_VALUES = [("loss", 0.7125), ("accuracy", 0.7660), ("val_loss", 0.5080),
                 ("val_accuracy", 0.8282)]


class FakeClock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(progbar_module, "_clock", fake)
    return fake


@pytest.fixture
def not_a_terminal(monkeypatch):
    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)


@pytest.fixture
def terminal(monkeypatch):
    # Progbar treats a running ipykernel like a terminal; a stand-in module is enough.
    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))


# ---- pure formatting -------------------------------------------------------------------

def test_final_line_matches_the_course_output():
    line = format_line(55000, 55000, 2.0, 36e-6, COURSE_VALUES, unit_name="sample")
    assert line == COURSE_LINE


def test_running_line_shows_eta_and_arrow():
    line = format_line(500, 1000, 3.0, 0.006, [("loss", 0.5)])
    assert line == " 500/1000 [" + "=" * 14 + ">" + "." * 15 + "] - ETA: 3s - loss: 0.5000"


def test_running_line_before_the_first_cell_has_no_arrow():
    line = format_line(32, 1000, 0.2, 0.006, [])
    assert line == "  32/1000 [" + "." * 30 + "] - ETA: 5s"


def test_one_cell_of_progress_is_an_arrow():
    assert format_line(1, 30, 0.1, 0.1, []).startswith(" 1/30 [>" + "." * 29 + "]")


def test_unknown_target():
    line = format_line(12, None, 1.0, 0.0833, [("loss", 0.25)])
    assert line == "     12/Unknown - 1s 83ms/step - loss: 0.2500"


def test_finalize_forces_the_final_format_before_the_target():
    line = format_line(40, 100, 4.0, 0.1, [], finalize=True)
    assert line == " 40/100 [" + "=" * 11 + ">" + "." * 18 + "] - 4s 100ms/step"


@pytest.mark.parametrize("seconds, expected", [
    (42.7, "42s"), (60, "60s"), (125, "2:05"), (3600, "60:00"), (3725, "1:02:05")])
def test_eta_formats(seconds, expected):
    assert format_eta(seconds) == expected


@pytest.mark.parametrize("seconds, unit, expected", [
    (1.2, "step", "1s/step"), (0, "step", "0s/step"), (0.0123, "step", "12ms/step"),
    (0.001, "step", "1ms/step"), (0.000999, "step", "999us/step"),
    (3.6e-5, "sample", "36us/sample")])
def test_time_per_unit_in_s_ms_us(seconds, unit, expected):
    assert format_time_per_unit(seconds, unit) == expected


@pytest.mark.parametrize("value, expected", [
    (0.7125, "0.7125"), (0.0011, "0.0011"), (0.001, "1.0000e-03"), (0.0009, "9.0000e-04"),
    (0.0, "0.0000e+00"), (-0.5, "-0.5000"), (12345.678, "12345.6780"),
    (float("nan"), "nan"), (float("inf"), "inf")])
def test_value_switches_to_exponent_at_1e_3(value, expected):
    assert format_value(value) == expected


def test_verbose_2_line_has_no_bar():
    line = format_line(55000, 55000, 2.0, 36e-6, COURSE_VALUES[:2], verbose=2)
    assert line == "55000/55000 - 2s - loss: 0.7125 - accuracy: 0.7660"


def test_verbose_2_compares_without_abs_like_tf_keras_2_0():
    # tf.keras 2.0 tests `avg > 1e-3` for verbose=2, so negative values use %.4e there.
    assert format_line(10, 10, 1.0, 0.1, [("loss", -0.5)], verbose=2) == \
        "10/10 - 1s - loss: -5.0000e-01"
    assert format_line(10, 10, 1.0, 0.1, [("loss", -0.5)]).endswith("loss: -0.5000")


# ---- the printing class ----------------------------------------------------------------

def test_not_a_terminal_prints_only_the_final_line(capsys, clock, not_a_terminal):
    bar = Progbar(10, stateful_metrics=["loss"])
    for step in range(1, 11):
        clock.t += 0.5
        bar.update(step, [("loss", 1.0 / step)])
    out = capsys.readouterr().out
    assert out == "10/10 [" + "=" * 30 + "] - 5s 500ms/step - loss: 0.1000\n"
    assert "\r" not in out and "\b" not in out


def test_terminal_redraws_in_place_and_averages_non_stateful_values(capsys, clock, terminal):
    bar = Progbar(10)
    clock.t += 1.0
    bar.update(5, [("loss", 0.5)])
    first = " 5/10 [" + "=" * 14 + ">" + "." * 15 + "] - ETA: 1s - loss: 0.5000"
    assert capsys.readouterr().out == "\r" + first
    clock.t += 1.0
    bar.update(10, [("loss", 0.25)])
    # loss averaged over 10 steps: (0.5 * 5 + 0.25 * 5) / 10 = 0.375
    final = "10/10 [" + "=" * 30 + "] - 2s 200ms/step - loss: 0.3750"
    padding = " " * max(len(first) - len(final), 0)
    assert capsys.readouterr().out == "\b" * len(first) + "\r" + final + padding + "\n"


def test_stateful_metrics_are_shown_as_given(capsys, clock, not_a_terminal):
    bar = Progbar(4, stateful_metrics=["acc"])
    for step, acc in enumerate([0.1, 0.2, 0.3, 0.9], start=1):
        clock.t += 0.1
        bar.update(step, [("acc", acc)])
    assert capsys.readouterr().out.rstrip("\n").endswith(" - acc: 0.9000")


def test_redraws_are_rate_limited(capsys, clock, terminal):
    bar = Progbar(100, interval=0.1)
    for step in range(1, 101):
        clock.t += 0.01  # one second in all
        bar.update(step, [("loss", 1.0)])
    out = capsys.readouterr().out
    assert 9 <= out.count("\r") <= 11
    assert out.endswith("] - 1s 10ms/step - loss: 1.0000\n")


def test_verbose_2_prints_one_line_without_control_characters(capsys, clock, terminal):
    bar = Progbar(8, verbose=2)
    for step in range(1, 9):
        clock.t += 0.25
        bar.update(step, [("loss", 2.0)])
    assert capsys.readouterr().out == "8/8 - 2s - loss: 2.0000\n"


def test_verbose_0_prints_nothing(capsys, clock, terminal):
    bar = Progbar(3, verbose=0)
    for step in range(1, 4):
        bar.update(step, [("loss", 1.0)])
    assert capsys.readouterr().out == ""


def test_add_accumulates_the_count(capsys, clock, not_a_terminal):
    bar = Progbar(6, unit_name="sample")
    clock.t += 6e-3
    bar.add(3)
    bar.add(3)
    assert capsys.readouterr().out == "6/6 [" + "=" * 30 + "] - 0s 1ms/sample\n"


def test_invalid_verbose_is_rejected():
    with pytest.raises(ValueError, match="verbose.*0, 1 or 2.*'loud'"):
        Progbar(10, verbose="loud")


# ---- gazelle.utils.io (kept here with the console helpers) -----------------------------

def test_print_msg_writes_to_stdout(capsys):
    io_utils.print_msg("hello")
    io_utils.print_msg("no break", line_break=False)
    assert capsys.readouterr().out == "hello\nno break"


def test_atomic_write_bytes_and_writer(tmp_path):
    path = tmp_path / "file.bin"
    io_utils.atomic_write(path, b"first")
    assert path.read_bytes() == b"first"
    io_utils.atomic_write(str(path), lambda f: f.write(b"second"))
    assert path.read_bytes() == b"second"
    assert os.listdir(tmp_path) == ["file.bin"]


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path):
    path = tmp_path / "file.bin"
    path.write_bytes(b"old")

    def broken_writer(f):
        f.write(b"partial")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        io_utils.atomic_write(path, broken_writer)
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["file.bin"]


def test_atomic_write_rejects_text(tmp_path):
    with pytest.raises(TypeError, match="data_bytes_or_writer.*bytes.*str"):
        io_utils.atomic_write(tmp_path / "f", "text")
