"""The tf.keras 2 progress bar: pure line formatting plus a thin printing class. [leaf: stdlib, numpy]

`format_line` returns the exact text tf.keras 2.0 shows for one state of the bar, for example
`55000/55000 [==============================] - 2s 36us/sample - loss: 0.7125`. `Progbar` adds
what needs a terminal and a clock: the in-place redraw (`\\b`/`\\r`), the update interval, and
averaging of non-stateful values. Off a terminal it prints only the final line, with no
control characters, so log files stay readable (tf.keras prints every update there).
"""
import re
import sys
import time

from gazelle.utils.io import print_msg

# Progbar reads the time through this name, so tests can drive the clock.
_clock = time.monotonic
_ANSI = re.compile(r"\x1b\[\d+m")


def format_value(value, signed=True):
    """Formats one metric value: `%.4f`, or `%.4e` when its magnitude is at most 1e-3.

    Args:
        value: the number to format.
        signed: compare `abs(value)` with 1e-3 (tf.keras's `verbose=1` rule). With
            `signed=False` the value itself is compared, which is what tf.keras 2.0 does for
            `verbose=2`, so negative values show in `%.4e` there. Defaults to `True`.
    """
    value = float(value)
    shown = abs(value) if signed else value
    return "%.4f" % value if shown > 1e-3 else "%.4e" % value


def format_eta(seconds):
    """Formats a remaining time as tf.keras does: `42s`, `2:05` or `1:02:05`."""
    if seconds > 3600:
        return "%d:%02d:%02d" % (seconds // 3600, (seconds % 3600) // 60, seconds % 60)
    if seconds > 60:
        return "%d:%02d" % (seconds // 60, seconds % 60)
    return "%ds" % seconds


def format_time_per_unit(seconds, unit_name="step"):
    """Formats the time one unit took: `2s/step`, `12ms/step` or `36us/sample`."""
    if seconds >= 1 or seconds == 0:
        return "%.0fs/%s" % (seconds, unit_name)
    if seconds >= 1e-3:
        return "%.0fms/%s" % (seconds * 1e3, unit_name)
    return "%.0fus/%s" % (seconds * 1e6, unit_name)


def format_counter(current, target):
    """Formats the counter: `  32/1000` (padded to the target's width), or `     12/Unknown`."""
    if target is None:
        return "%7d/Unknown" % current
    return "%*d/%d" % (len(str(int(target))), current, target)


def format_bar(current, target, width=30):
    """Formats the counter and bar: `  32/1000 [>....]`, or `     12/Unknown` without a target."""
    if target is None:
        return format_counter(current, target)
    filled = int(width * current / target) if target else width
    bar = format_counter(current, target) + " ["
    if filled > 0:
        bar += "=" * (filled - 1) + (">" if current < target else "=")
    return bar + "." * (width - filled) + "]"


def format_line(current, target, elapsed, time_per_unit, values=(), width=30,
                unit_name="step", verbose=1, finalize=None):
    """Returns one line of the tf.keras 2.0 progress display, without control characters.

    Args:
        current: units done so far (samples or steps).
        target: total units expected, or `None` if unknown.
        elapsed: seconds since the bar started.
        time_per_unit: seconds per unit, used for the ETA and the final rate.
        values: `(name, value)` pairs, shown in this order as ` - name: value`.
        width: bar width in characters. Defaults to 30.
        unit_name: the unit in the rate, e.g. `"step"` or `"sample"`. Defaults to `"step"`.
        verbose: 1 for the bar, 2 for the bar-less one-line-per-epoch form. Defaults to 1.
        finalize: whether this is the last update; `None` means `current >= target`.

    ```python
    format_line(500, 1000, 3.0, 0.006, [("loss", 0.5)])
    # ' 500/1000 [==============>...............] - ETA: 3s - loss: 0.5000'
    ```
    """
    if finalize is None:
        finalize = target is not None and current >= target
    if verbose == 2:
        line = format_counter(current, target) + " - %.0fs" % elapsed
    else:
        line = format_bar(current, target, width)
        if target is not None and not finalize:
            line += " - ETA: " + format_eta(time_per_unit * (target - current))
        else:
            line += " - %.0fs " % elapsed + format_time_per_unit(time_per_unit, unit_name)
    for name, value in values:
        line += " - %s: %s" % (name, format_value(value, signed=verbose != 2))
    return line


def format_line_keras3(current, target, elapsed, time_per_unit, values=(), width=20,
                       unit_name="step", verbose=1, finalize=None, color=False):
    """Returns one line of Keras 3's progress display (the step counter), for example
    `1719/1719 ━━━━━━━━━━━━━━━━━━━━ 3s 2ms/step - loss: 0.7204`.

    Args:
        current, target, elapsed, time_per_unit, values, unit_name, verbose, finalize: as
            in `format_line`.
        width: bar width in characters. Defaults to 20 (Keras 3's).
        color: wrap the counter, bar and time in the terminal colours Keras 3 uses.
            Defaults to `False` (plain text, for logs).
    """
    if finalize is None:
        finalize = target is not None and current >= target

    def paint(text, code):
        return f"\x1b[{code}m{text}\x1b[0m" if color else text

    if target is not None and target > 0:
        counter = "%*d/%d" % (len(str(int(target))), current, target)
    else:
        counter = None
    if verbose == 2:
        line = "%s - %.0fs -%s" % (counter or "%7d/Unknown" % current, elapsed,
                                   " " + format_time_per_unit(time_per_unit, unit_name))
    else:
        if counter is not None:
            done = int(width * float(current) / target)
            line = paint(counter, 1) + " "
            if done > 0:
                line += paint("━" * done, 32)
            line += paint("━" * (width - done), 37)
            shown = format_eta(time_per_unit * (target - current)) if not finalize \
                else "%.0fs" % elapsed
        else:
            line = "%7d/Unknown" % current
            shown = "%.0fs" % elapsed
        line += " " + paint(shown, 1) + " " + format_time_per_unit(time_per_unit, unit_name)
    for name, value in values:
        line += " - %s: %s" % (name, format_value(value, signed=verbose != 2))
    return line


def _is_dynamic_display():
    from gazelle.utils.io import is_interactive_logging_enabled
    if not is_interactive_logging_enabled():
        return False
    stdout = sys.stdout
    return (hasattr(stdout, "isatty") and stdout.isatty()) or "ipykernel" in sys.modules


class Progbar:
    """Displays a progress bar.

    Args:
        target: Total number of steps expected, None if unknown.
        width: Progress bar width on screen. Defaults to 30 (20 in the `"keras3"` style).
        verbose: Verbosity mode, 0 (silent), 1 (verbose), 2 (semi-verbose). Defaults to 1.
        interval: Minimum visual progress update interval (in seconds). Defaults to 0.05.
        stateful_metrics: Iterable of string names of metrics that should *not* be
            averaged over time. Metrics in this list will be displayed as-is. All
            others will be averaged by the progbar before display. Defaults to `None`.
        unit_name: Display name for step counts (usually "step" or "sample").
            Defaults to `"step"`.
        style: `"tf_keras2"` or `"keras3"`; defaults to `keras.config.progress_style()`.

    ```python
    bar = Progbar(100, unit_name="sample")
    for i in range(10):
        bar.add(10, values=[("loss", 0.5)])
    ```
    """

    def __init__(self, target, width=None, verbose=1, interval=0.05, stateful_metrics=None,
                 unit_name="step", style=None):
        if verbose not in (0, 1, 2):
            raise ValueError(f"Progbar: `verbose` must be 0, 1 or 2, but received {verbose!r}.")
        if style is None:
            from gazelle import config
            style = config.progress_style()
        if style not in ("tf_keras2", "keras3"):
            raise ValueError(f"Progbar: `style` must be 'tf_keras2' or 'keras3', but received "
                             f"{style!r}.")
        self.style = style
        self.target = target
        self.width = width if width is not None else (20 if style == "keras3" else 30)
        self.verbose = verbose
        self.interval = interval
        self.unit_name = unit_name
        self.stateful_metrics = set(stateful_metrics or ())
        self._dynamic_display = _is_dynamic_display()
        self._values = {}  # name -> [weighted sum, weight]; insertion order = display order
        self._seen_so_far = 0
        self._start = _clock()
        self._last_update = None
        self._total_width = 0

    def update(self, current, values=None, finalize=None):
        """Updates the progress bar.

        Args:
            current: Index of current step.
            values: List of tuples: `(name, value_for_last_step)`. If `name` is in
                `stateful_metrics`, `value_for_last_step` will be displayed as-is.
                Else, an average of the metric over time will be displayed.
            finalize: Whether this is the last update for the progress bar. If
                `None`, defaults to `current >= self.target`.
        """
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        for name, value in values or ():
            value = float(value)
            if name in self.stateful_metrics:
                self._values[name] = [value, 1]
            else:
                weight = max(current - self._seen_so_far, 1)
                total = self._values.setdefault(name, [0.0, 0])
                total[0] += value * weight
                total[1] += weight
        self._seen_so_far = current

        now = _clock()
        if self.verbose == 0 or (not finalize and (
                self.verbose == 2 or not self._dynamic_display
                or (self._last_update is not None and now - self._last_update < self.interval))):
            return
        elapsed = now - self._start
        shown = [(name, s / max(w, 1)) for name, (s, w) in self._values.items()]
        per_unit = elapsed / current if current else 0
        if self.style == "keras3":
            line = format_line_keras3(current, self.target, elapsed, per_unit, shown,
                                      self.width, self.unit_name, self.verbose, finalize,
                                      color=self.verbose == 1 and self._dynamic_display)
        else:
            line = format_line(current, self.target, elapsed, per_unit, shown, self.width,
                               self.unit_name, self.verbose, finalize)
        if self.verbose == 1 and self._dynamic_display:
            # Back over the previous line, then pad if the new one is shorter.
            prefix = "\b" * self._total_width + "\r"
            visible = len(_ANSI.sub("", line))
            padding = " " * max(self._total_width - visible, 0)
            self._total_width = visible
            line = prefix + line + padding
        if self._dynamic_display:
            sys.stdout.write(line + ("\n" if finalize else ""))
            sys.stdout.flush()
        else:
            print_msg(line, line_break=finalize)
        self._last_update = now

    def add(self, n, values=None):
        """Adds `n` to the current count and updates the bar (see `update`)."""
        self.update(self._seen_so_far + n, values)
