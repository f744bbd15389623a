"""What a run records beside its results: config, code revision, numbers."""

import datetime
import functools
import importlib.metadata
import json
import os
import pathlib
import platform
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


def _cpu_name() -> str:
  try:
    for line in pathlib.Path('/proc/cpuinfo').read_text().splitlines():
      if line.startswith('model name'):
        return line.split(':', 1)[1].strip()
  except OSError:
    pass
  return platform.processor()


def machine() -> dict:
  """The CPU, its core count, the OS and Python, for benchmark records."""
  return dict(cpu=_cpu_name(), cpu_count=os.cpu_count(),
              platform=platform.platform(), python=platform.python_version())


def versions(packages) -> dict:
  """{package: installed version} for benchmark records."""
  return {package: importlib.metadata.version(package)
          for package in packages}


def benchmark_record(name: str, config: ml_collections.ConfigDict,
                     packages, machine_info: dict | None = None,
                     **results) -> dict:
  """``run_record`` of a benchmark: its name, the UTC date, the machine
  (``machine()`` unless given) and the versions of ``packages`` too."""
  return run_record(
      config, benchmark=name,
      date=datetime.datetime.now(datetime.timezone.utc).isoformat(
          timespec='seconds'),
      machine=machine_info or machine(), versions=versions(packages),
      **results)
