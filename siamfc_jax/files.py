"""Atomic file writes: a crash never leaves a half-written result."""

import os
import pathlib
import tempfile


def write_bytes(path, data: bytes) -> None:
  """Writes ``data`` to ``path`` through a temporary file and a rename."""
  path = pathlib.Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f'.{path.name}.')
  try:
    with os.fdopen(fd, 'wb') as f:
      os.fchmod(f.fileno(), 0o644)  # mkstemp's 0600 is too strict for results.
      f.write(data)
      f.flush()
      os.fsync(f.fileno())
    os.replace(tmp, path)
  except BaseException:
    pathlib.Path(tmp).unlink(missing_ok=True)
    raise


def write_text(path, text: str) -> None:
  write_bytes(path, text.encode('utf-8'))
