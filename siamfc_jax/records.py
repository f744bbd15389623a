"""What a run records beside its results: config, code revision, numbers."""

import functools
import json
import pathlib
import shutil
import subprocess

import ml_collections

from siamfc_jax import files


def git_revision() -> str:
  """The commit of the source tree (with '-dirty' if modified), or 'unknown'."""
  root = pathlib.Path(__file__).resolve().parent.parent
  git = shutil.which('git')
  if git is None:
    return 'unknown'
  # A full executable path and no cwd let subprocess use posix_spawn rather
  # than fork, which is unsafe once JAX's threads run.
  run = functools.partial(subprocess.run, capture_output=True, text=True,
                          check=True, close_fds=False)
  try:
    revision = run([git, '-C', str(root), 'rev-parse', 'HEAD']).stdout.strip()
    dirty = run([git, '-C', str(root), 'status', '--porcelain',
                 '--untracked-files=no']).stdout.strip()
  except (OSError, subprocess.CalledProcessError):
    return 'unknown'
  return revision + ('-dirty' if dirty else '')


def write_json(path, record: dict) -> None:
  files.write_text(path, json.dumps(record, indent=2, sort_keys=True) + '\n')


def run_record(config: ml_collections.ConfigDict, **results) -> dict:
  """A JSON-ready record of a run: its config, revision and results."""
  return dict(config=config.to_dict(), git_revision=git_revision(), **results)
