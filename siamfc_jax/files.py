"""Atomic file writes: a crash never leaves a half-written result.

``check_folder`` tells, before a long run, whether its results could be
written at all.
"""

import os
import pathlib
import tempfile


class FolderError(ValueError):
  """A folder that cannot be created or written to."""


def check_folder(folder, *, what: str) -> pathlib.Path:
  """Checks that files can be written in ``folder`` (made when needed).

  Creates nothing: a probe file is written and removed in the folder, or in
  its nearest existing parent, where the folder will be made.

  Args:
    folder: the folder results will be written to.
    what: how the user named it, e.g. '--output_dir', for the message.

  Returns:
    The folder, as a path.

  Raises:
    FolderError: naming ``what``, the folder and the reason.
  """
  folder = pathlib.Path(folder)
  existing = next(path for path in (folder, *folder.absolute().parents)
                  if path.exists())
  if not existing.is_dir():
    raise FolderError(f'{what}={folder}: {existing} is a file, not a folder')
  try:
    fd, probe = tempfile.mkstemp(dir=existing, prefix='.write-check-')
    os.close(fd)
    os.unlink(probe)
  except OSError as e:
    raise FolderError(f'{what}={folder}: cannot write in {existing}'
                      f' ({e.strerror or e})') from None
  return folder


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
