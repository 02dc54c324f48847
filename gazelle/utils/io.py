"""Console messages and crash-safe file writes. [leaf: stdlib only]

`print_msg` is how callbacks and the trainer talk to the user. `atomic_write` is how saving
writes files: a reader sees the old file or the new one, never half of one.
"""
import logging
import os
import re
import sys
import tempfile
import time

from gazelle.config import disable_interactive_logging as disable_interactive_logging
from gazelle.config import enable_interactive_logging as enable_interactive_logging
from gazelle.config import is_interactive_logging_enabled as is_interactive_logging_enabled


def print_msg(message, line_break=True):
    """Prints a message to standard output and flushes it.

    With interactive logging off (`keras.utils.disable_interactive_logging()`), the message
    is logged at INFO level on the `"gazelle"` logger instead.

    Args:
        message: the message; anything `str()` accepts.
        line_break: whether to end the message with a newline. Defaults to `True`.
    """
    if not is_interactive_logging_enabled():
        logging.getLogger("gazelle").info(str(message))
        return
    sys.stdout.write(str(message) + ("\n" if line_break else ""))
    sys.stdout.flush()


# Temporary files are named ".<name>.gazelle-<pid>-<random>.tmp": the pid says whether the
# process that wrote one still runs, so a later save can remove what a killed one left.
_TMP_MARK = ".gazelle-"
_TMP_NAME = re.compile(r"^\..+\.gazelle-(\d+)-[A-Za-z0-9_]+\.tmp$")
# A temp file whose pid runs (perhaps reused by another program) is removed only past
# this age; no save takes that long.
STALE_TMP_SECONDS = 6 * 3600


def _pid_alive(pid):
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True                 # exists, owned by someone else
    return True


def remove_stale_temp_files(directory):
    """Removes temp files that a killed `atomic_write` left in `directory`: those whose
    writing process is gone, or older than `STALE_TMP_SECONDS`. Returns their paths."""
    removed = []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    now = time.time()
    for name in names:
        match = _TMP_NAME.match(name)
        if match is None:
            continue
        path = os.path.join(directory, name)
        try:
            old = now - os.path.getmtime(path) > STALE_TMP_SECONDS
            if old or not _pid_alive(int(match.group(1))):
                os.remove(path)
                removed.append(path)
        except OSError:
            continue                # raced with its owner or another cleaner
    return removed


def atomic_write(path, data_bytes_or_writer):
    """Writes a file so that it is replaced whole or not at all.

    The data goes to a temporary file in the same directory, which is flushed to disk and
    then renamed over `path` with `os.replace`. If anything fails the temporary file is
    removed and `path` is left as it was. A process killed mid-write cannot clean up, so
    each write first removes the temp files that dead writers left in the directory.

    Args:
        path: the file to write (a string or `os.PathLike`).
        data_bytes_or_writer: the file's content as bytes, or a callable that receives the
            open binary file object and writes to it.

    ```python
    atomic_write("model.keras", lambda f: f.write(b"..."))
    ```
    """
    path = os.fspath(path)
    if isinstance(data_bytes_or_writer, (bytes, bytearray, memoryview)):
        data = data_bytes_or_writer
        write = lambda f: f.write(data)  # noqa: E731
    elif callable(data_bytes_or_writer):
        write = data_bytes_or_writer
    else:
        raise TypeError(
            "atomic_write: `data_bytes_or_writer` must be bytes or a callable that writes "
            f"to a binary file, but received {type(data_bytes_or_writer).__name__}. "
            "Encode text first, e.g. `text.encode('utf-8')`.")
    directory = os.path.dirname(os.path.abspath(path))
    remove_stale_temp_files(directory)
    fd, tmp_path = tempfile.mkstemp(
        dir=directory, prefix=f".{os.path.basename(path)}{_TMP_MARK}{os.getpid()}-",
        suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp makes the file private (0600); give it the mode a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)
        os.replace(tmp_path, path)
    except BaseException:
        try:
            os.remove(tmp_path)
        except OSError:
            pass
        raise
