"""The test suite's compile cache folder, kept bounded (tests/conftest.py)."""
import os


def trim_cache(folder, limit, keep):
    """Removes the least recently written files of `folder` until at most `keep` bytes
    stay, when it holds over `limit`; returns the bytes removed. A folder not made yet
    (JAX makes it on its first write) holds nothing."""
    if not os.path.isdir(folder):
        return 0
    entries = []
    with os.scandir(folder) as it:
        for entry in it:
            if entry.is_file(follow_symlinks=False):
                stat = entry.stat(follow_symlinks=False)
                entries.append((stat.st_mtime, stat.st_size, entry.path))
    total = sum(size for _, size, _ in entries)
    removed = 0
    if total <= limit:
        return removed
    for _, size, path in sorted(entries):
        if total - removed <= keep:
            break
        try:
            os.remove(path)
            removed += size
        except OSError:
            pass
    return removed
