"""Benchmark evaluation: one module per benchmark behind one interface.

SiamFC and the baselines run through the same loops and write the same
files, in each benchmark's own layout under the results folder (each
module's docstring gives its own), e.g.:

  otb     <tracker>/<seq>.txt: one x,y,w,h per frame (OTB text format),
          <tracker>/times/<seq>_time.txt: seconds per frame;
  got10k  <tracker>/<seq>/<seq>_001.txt and <seq>_time.txt: the GOT-10k
          submission layout (<tracker>.zip is that folder, zipped);
  vot     <tracker>/baseline/<seq>/<seq>_001.txt and <seq>_time.txt: the
          reset-based run in pysot's format (1 initialised, 2 failure,
          0 skipped, else a 0-based x,y,w,h box); overlaps are the VOT
          toolkit's, on the ground-truth polygons (``metrics.vot_overlap``).

Modules: ``base`` (Entry, the result files, the Benchmark interface),
``ope`` (the one-pass run and OTB summary, also training validation's),
one module per benchmark (otb, got10k, vot, lasot, trackingnet, uav123 with
uav20l, nfs, tc128), ``runner`` (tracking what is missing, summary,
report) and ``trax`` (serving a tracker to the VOT toolkit). A benchmark is
found by name in ``BENCHMARKS``; nothing else chooses by its name.

Files are written atomically, the box file last, so a sequence whose box
file has one line per frame is complete: an interrupted run started again
tracks only the others. ``evaluation.json`` records the config;
``report`` turns the files into tables, plots and a report.
"""

import pathlib

import ml_collections

from siamfc_jax.evaluation import base
from siamfc_jax.evaluation import got10k
from siamfc_jax.evaluation import lasot
from siamfc_jax.evaluation import nfs
from siamfc_jax.evaluation import ope
from siamfc_jax.evaluation import otb
from siamfc_jax.evaluation import runner
from siamfc_jax.evaluation import tc128
from siamfc_jax.evaluation import trackingnet
from siamfc_jax.evaluation import uav123
from siamfc_jax.evaluation import vot
from siamfc_jax.evaluation.base import Benchmark
from siamfc_jax.evaluation.base import Entry
from siamfc_jax.evaluation.base import EvaluationError
from siamfc_jax.evaluation.base import read_seconds
from siamfc_jax.evaluation.base import steady_fps
from siamfc_jax.evaluation.runner import create_tracker
from siamfc_jax.evaluation.runner import RECORD
from siamfc_jax.evaluation.runner import TRACKERS
from siamfc_jax.evaluation.trax import serve_trax
from siamfc_jax.evaluation.vot import run_reset

# name -> the benchmark: each module's BENCHMARK (or its BENCHMARKS, where
# one module reads several variants of a dataset). A new benchmark is a
# module and an entry here.
BENCHMARKS: dict[str, Benchmark] = {
    benchmark.name: benchmark
    for module in (otb, got10k, vot, lasot, trackingnet, uav123, nfs, tc128)
    for benchmark in getattr(module, 'BENCHMARKS', (module.BENCHMARK,))
}


def get(name: str) -> Benchmark:
  """The benchmark called ``name`` (a key of BENCHMARKS)."""
  if name not in BENCHMARKS:
    raise EvaluationError(f'unknown benchmark {name!r}; choose from'
                          f' {", ".join(BENCHMARKS)}')
  return BENCHMARKS[name]


def load_benchmark(benchmark: str, root, *, names=(),
                   max_frames: int | None = None,
                   config: ml_collections.ConfigDict | None = None
                   ) -> list[Entry]:
  """The sequences of a benchmark folder, in the benchmark's order.

  Args:
    benchmark: a key of BENCHMARKS, e.g. 'otb' or 'vot' (a folder of
      sequence folders with ground truth), or 'got10k' (a split folder
      with list.txt).
    root: the folder.
    names: sequence names to keep (all if empty).
    max_frames: keep only the first frames of each sequence.
    config: the evaluation config, for benchmarks with options.
  """
  return get(benchmark).load(root, names=names, max_frames=max_frames,
                             config=config)


def summarize(config: ml_collections.ConfigDict, entries) -> dict:
  """Metrics of every tracker of ``config`` whose results are complete."""
  return runner.summarize(get(config.benchmark), config, entries)


def evaluate(config: ml_collections.ConfigDict) -> tuple[dict,
                                                          pathlib.Path]:
  """Tracks every sequence of ``config.root`` with every tracker, reports.

  Writes ``evaluation.json`` (config, git revision, SiamFC's weights), the
  result files of the sequences not yet complete, then the report (see
  ``report``).

  Returns:
    (summary, path of report.md).
  """
  return report(track(config).results_dir)


def track(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """Tracks the sequences of ``config``'s shard whose results are missing,
  with every tracker, and records the config (``evaluation.json``).

  Returns:
    The config as recorded (references resolved, root absolute).
  """
  return runner.track(get(config.benchmark), config)


def report(results_dir) -> tuple[dict, pathlib.Path]:
  """Turns the result files in ``results_dir`` into a report.

  Reads ``evaluation.json`` and writes ``summary.json`` (every number),
  the plots, ``report.md`` (and ``report.html`` with ``config.html``) and
  the benchmark's own files (GOT-10k: each complete tracker's
  ``<tracker>.zip`` submission).

  Returns:
    (summary, path of report.md).
  """
  record, config = runner.read_record(results_dir)
  return runner.report(get(config.benchmark), config, record)


__all__ = [
    'BENCHMARKS', 'Benchmark', 'Entry', 'EvaluationError', 'RECORD',
    'TRACKERS', 'base', 'create_tracker', 'evaluate', 'get', 'got10k',
    'lasot', 'load_benchmark', 'nfs', 'ope', 'otb', 'read_seconds', 'report',
    'run_reset', 'runner', 'serve_trax', 'steady_fps', 'summarize', 'tc128',
    'track', 'trackingnet', 'uav123', 'vot',
]
