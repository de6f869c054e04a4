"""Files written whole or not at all: an interrupted or failed write never
leaves half a report, manifest or table where the last good one was."""

import contextlib
import os


@contextlib.contextmanager
def atomic_path(path):
    """A temporary name beside `path` to write to; once the block ends
    without an exception, one rename puts it in `path`'s place (a reader sees
    the old file or the new one). On an exception the temporary is removed."""
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_text(path, text):
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
