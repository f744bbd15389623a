"""Running trackers on a benchmark, resumably, and reporting the results.

``track`` records the config in ``evaluation.json`` and tracks every
sequence whose result files are missing (each benchmark writes them in its
own layout, the box file last, so an interrupted run started again tracks
only the others); ``report`` reads nothing but the record
(``read_record``) and the result files. Every function takes the
benchmark object: ``siamfc_jax.evaluation`` finds it by name.
"""

import json
import pathlib

import ml_collections
import tqdm

from siamfc_jax import baselines
from siamfc_jax import weights
from siamfc_jax import records
from siamfc_jax import reports
from siamfc_jax import tracker as tracker_lib
from siamfc_jax.evaluation import base
from siamfc_jax.evaluation import ope
from siamfc_jax.evaluation import vot

TRACKERS = ('siamfc', *baselines.BASELINES)
RECORD = 'evaluation.json'


def create_tracker(name: str, config: ml_collections.ConfigDict):
  """The tracker called ``name`` (one of TRACKERS), set up from ``config``."""
  if name == 'siamfc':
    return tracker_lib.Tracker(weights.load_for_tracking(config.track),
                               config.track)
  if name in baselines.BASELINES:
    return baselines.create(name, ncc_search_scale=config.ncc_search_scale)
  raise base.EvaluationError(f'unknown tracker {name!r}; choose from'
                             f' {", ".join(TRACKERS)}')


def run_entry(benchmark: base.Benchmark, tracker, entry: base.Entry,
              config: ml_collections.ConfigDict):
  """Tracks one sequence by the benchmark's protocol, for ``write``."""
  if benchmark.protocol == 'reset':
    return vot.run_reset(tracker, entry.sequence,
                         skip_frames=config.vot.skip_frames,
                         polygons=entry.label('polygons'))
  if benchmark.protocol != 'ope':
    raise base.EvaluationError(f'{benchmark.name}: unknown protocol'
                               f' {benchmark.protocol!r}')
  return ope.run(tracker, entry.sequence)


def run_tracker(benchmark: base.Benchmark, name: str, entries,
                config: ml_collections.ConfigDict) -> int:
  """Tracks the sequences whose results are missing; returns how many.

  Only this shard's sequences (``config.shard_index`` of
  ``config.shard_count``) are tracked. SiamFC tracks ``config.batch_size``
  one-pass sequences together (``tracker.track_batch``) when it is above 1.
  """
  results_dir = config.results_dir
  shard = entries[config.shard_index::config.shard_count]
  missing = [e for e in shard
             if not benchmark.is_complete(results_dir, name, e)]
  if not missing:
    return 0
  tracker = create_tracker(name, config)
  progress = tqdm.tqdm(total=len(missing), desc=name, unit='sequence',
                       disable=not config.progress)
  batched = (name == 'siamfc' and config.batch_size > 1
             and benchmark.protocol == 'ope')
  size = config.batch_size if batched else 1
  for start in range(0, len(missing), size):
    chunk = missing[start:start + size]
    if batched:
      results = tracker_lib.track_batch(
          tracker.variables, tracker.settings, [e.sequence for e in chunk],
          [e.groundtruth[0] for e in chunk])
    else:
      results = [run_entry(benchmark, tracker, chunk[0], config)]
    for entry, result in zip(chunk, results):
      benchmark.write(results_dir, name, entry, result)
    progress.update(len(chunk))
  progress.close()
  return len(missing)


def summarize(benchmark: base.Benchmark, config: ml_collections.ConfigDict,
              entries) -> dict:
  """Metrics of every tracker whose results cover every sequence.

  Returns:
    {'benchmark', 'sequences': [names], 'trackers': {name: {'overall':
    {...}, 'sequences': {seq: {...}}}}, 'incomplete': {name: number of
    sequences done}}.
  """
  results_dir = config.results_dir
  summary = dict(benchmark=benchmark.name,
                 sequences=[e.name for e in entries], trackers={},
                 incomplete={})
  for name in config.trackers:
    done = sum(benchmark.is_complete(results_dir, name, e) for e in entries)
    if done < len(entries):
      summary['incomplete'][name] = done
    else:
      summary['trackers'][name] = benchmark.summarize(results_dir, name,
                                                      entries, config)
  return summary


def track(benchmark: base.Benchmark,
          config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """Records the config, then tracks what is missing with every tracker.

  Writes ``evaluation.json`` (config, git revision, SiamFC's weights) and
  the result files of the sequences not yet complete.

  Returns:
    The config as recorded (references resolved, root absolute).
  """
  unknown = [t for t in config.trackers if t not in TRACKERS]
  if unknown:
    raise base.EvaluationError(f'unknown tracker {", ".join(unknown)};'
                               f' choose from {", ".join(TRACKERS)}')
  config = config.copy_and_resolve_references()
  config.root = str(pathlib.Path(config.root).resolve())  # For report().
  entries = load(benchmark, config)
  records.write_json(
      pathlib.Path(config.results_dir) / RECORD,
      records.run_record(config, weights=weights.describe(config.track)))
  for name in config.trackers:
    run_tracker(benchmark, name, entries, config)
  return config


def load(benchmark: base.Benchmark,
         config: ml_collections.ConfigDict) -> list[base.Entry]:
  """The entries ``config`` names: root, sequences and max_frames."""
  return benchmark.load(config.root, names=tuple(config.sequences),
                        max_frames=config.max_frames, config=config)


# What report() needs of the recorded config and of the record.
_RECORD_FIELDS = ('weights', 'git_revision')
_CONFIG_FIELDS = ('benchmark', 'root', 'trackers', 'sequences', 'max_frames',
                  'html', 'plot_dpi')


def read_record(results_dir) -> tuple[dict, ml_collections.ConfigDict]:
  """The ``evaluation.json`` of ``results_dir`` and the config it holds.

  The config's ``results_dir`` is ``results_dir`` (the folder may have
  moved since).

  Raises:
    EvaluationError: no record, or not one ``track`` writes.
  """
  results_dir = pathlib.Path(results_dir)
  path = results_dir / RECORD
  if not path.is_file():
    raise base.EvaluationError(f'{path}: not found; run experiments.evaluate'
                               ' first')
  try:
    record = json.loads(path.read_text())
    if not isinstance(record, dict):
      raise TypeError(f'a JSON {type(record).__name__}, not an object')
    missing = [k for k in ('config', *_RECORD_FIELDS) if k not in record]
    if not isinstance(record.get('config', {}), dict):
      raise TypeError(f'config is a JSON {type(record["config"]).__name__},'
                      ' not an object')
    missing += [f'config.{k}' for k in _CONFIG_FIELDS
                if k not in record.get('config', {})]
    if missing:
      raise KeyError(f'no {", ".join(missing)}')
    config = ml_collections.ConfigDict(record['config'])
  except (ValueError, TypeError, KeyError) as e:
    reason = e.args[0] if isinstance(e, KeyError) else e
    raise base.EvaluationError(
        f'{path}: not an evaluation record ({reason})') from None
  config.results_dir = str(results_dir)
  return record, config


def report(benchmark: base.Benchmark, config: ml_collections.ConfigDict,
           record: dict) -> tuple[dict, pathlib.Path]:
  """Summarises the result files of ``config`` and writes the report.

  Writes ``summary.json`` (every number), the benchmark's ``finish`` files
  (GOT-10k: each complete tracker's ``<tracker>.zip``), its plots and
  ``report.md`` (and ``report.html`` with ``config.html``).

  Returns:
    (summary, path of report.md).
  """
  results_dir = pathlib.Path(config.results_dir)
  entries = load(benchmark, config)
  summary = summarize(benchmark, config, entries)
  records.write_json(results_dir / 'summary.json', summary)
  benchmark.finish(results_dir, summary)
  details = {
      'Sequences': f'{len(entries)} in {config.root}' + (
          f' (first {config.max_frames} frames)' if config.max_frames
          else ''),
      'Trackers': ', '.join(config.trackers),
      'SiamFC weights': record['weights'],
      'Git revision': record['git_revision'],
  }
  path = reports.write_report(summary, results_dir, benchmark=benchmark,
                              config=config, details=details,
                              html_too=config.html, dpi=config.plot_dpi)
  return summary, path
