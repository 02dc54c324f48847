"""Console messages and crash-safe file writes. [leaf: stdlib only]

`print_msg` is how callbacks and the trainer talk to the user. `atomic_write` is how saving
writes files: a reader sees the old file or the new one, never half of one.
"""
import os
import sys
import tempfile


def print_msg(message, line_break=True):
    """Prints a message to standard output and flushes it.

    Args:
        message: the message; anything `str()` accepts.
        line_break: whether to end the message with a newline. Defaults to `True`.
    """
    sys.stdout.write(str(message) + ("\n" if line_break else ""))
    sys.stdout.flush()


def atomic_write(path, data_bytes_or_writer):
    """Writes a file so that it is replaced whole or not at all.

    The data goes to a temporary file in the same directory, which is flushed to disk and
    then renamed over `path` with `os.replace`. If anything fails the temporary file is
    removed and `path` is left as it was.

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
    fd, tmp_path = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".",
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
        if os.path.exists(tmp_path):
            os.remove(tmp_path)
        raise
