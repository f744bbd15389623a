"""Hyper-parameter sweeps: K tracker settings, one jitted step per frame.

``run(config)`` (configs/sweep.py, experiments/sweep.py) tracks OTB-layout
sequences with every setting of the grid at once: ``tracker.SweepTracker``
embeds the exemplar once and puts the K settings' search crops through the
network in one batch, its boxes being those of K separate runs. Each
setting's boxes are written in the OTB layout under its own folder
(``<results_dir>/<setting>/<sequence>.txt``, box file last, atomically), so
a run started again tracks only the sequences not finished; the summary is
the OTB one-pass evaluation's (``evaluation.ope.summarize``).
"""

import csv
import io
import itertools
import pathlib

import matplotlib.figure
import ml_collections
import numpy as np
import tqdm

from siamfc_jax import files
from siamfc_jax import records
from siamfc_jax import reports
from siamfc_jax import tracker as tracker_lib
from siamfc_jax import weights
from siamfc_jax.evaluation import ope
from siamfc_jax.evaluation import otb

RECORD = 'sweep.json'
TABLE = 'sweep.csv'
HEATMAP = 'auc_heatmap.png'
METRICS = (('success_auc', 'AUC'), ('precision_20px', 'P@20'))


def axes(config: ml_collections.ConfigDict) -> dict[str, tuple]:
  """{swept field: its values}, the track config's value where None."""
  return {name: (config.track[name],) if config.grid[name] is None
          else tuple(config.grid[name]) for name in tracker_lib.SWEPT_FIELDS}


def points(config: ml_collections.ConfigDict) -> list[dict]:
  """The K settings: the product of the grid's axes, the last fastest."""
  grid = axes(config)
  return [dict(zip(grid, values))
          for values in itertools.product(*grid.values())]


def setting_name(point: dict) -> str:
  """A setting's folder name, e.g. 'scale_step=1.0375_..._window_...=0.2'.

  Every swept field is named, so a grid extended later reuses the folders
  of the settings it shares.
  """
  return '_'.join(f'{name}={float(point[name])!r}'
                  for name in tracker_lib.SWEPT_FIELDS)


def _is_complete(results_dir, names, entry) -> bool:
  return all(otb.BENCHMARK.is_complete(results_dir, name, entry)
             for name in names)


def track(config: ml_collections.ConfigDict, entries) -> int:
  """Tracks, with every setting, the entries not finished; returns how many.

  Seconds per frame are the batched step's, shared equally by the settings.
  """
  grid = points(config)
  names = [setting_name(point) for point in grid]
  missing = [e for e in entries
             if not _is_complete(config.results_dir, names, e)]
  if not missing:
    return 0
  sweeper = tracker_lib.SweepTracker(weights.load_for_tracking(config.track),
                                     config.track, grid)
  for entry in tqdm.tqdm(missing, desc='sweep', unit='sequence',
                         disable=not config.progress):
    result = ope.run(sweeper, entry.sequence)
    frames = len(result.boxes)
    # A one-frame result has no settings axis: broadcast it.
    boxes = np.broadcast_to(result.boxes.reshape(frames, -1, 4),
                            (frames, len(grid), 4))
    scores = np.broadcast_to(result.scores.reshape(frames, -1),
                             (frames, len(grid)))
    for k, name in enumerate(names):
      otb.BENCHMARK.write(config.results_dir, name, entry,
                          tracker_lib.TrackResult(
                              boxes[:, k], scores[:, k],
                              result.seconds / len(grid)))
  return len(missing)


def summarize(config: ml_collections.ConfigDict, entries) -> list[dict]:
  """One row per setting: its swept values, 'setting' and the metrics."""
  rows = []
  for point in points(config):
    name = setting_name(point)
    overall = otb.BENCHMARK.summarize(config.results_dir, name, entries,
                                      config)['overall']
    rows.append(dict(point, setting=name,
                     **{key: overall[key] for key, _ in METRICS}))
  return rows


def table(rows: list[dict]) -> tuple[list[str], list[list[str]]]:
  """(header, rows) of the Markdown table, best AUC first."""
  header = [*tracker_lib.SWEPT_FIELDS, *(h for _, h in METRICS)]
  ranked = sorted(rows, key=lambda row: -row['success_auc'])
  return header, [[f'{row[n]:g}' for n in tracker_lib.SWEPT_FIELDS]
                  + [reports.number(row[key]) for key, _ in METRICS]
                  for row in ranked]


def write_csv(path, rows: list[dict]) -> None:
  text = io.StringIO()
  writer = csv.writer(text, lineterminator='\n')
  keys = [*tracker_lib.SWEPT_FIELDS, *(key for key, _ in METRICS), 'setting']
  writer.writerow(keys)
  writer.writerows([row[key] for key in keys] for row in rows)
  files.write_text(path, text.getvalue())


def heatmap_axes(grid: dict[str, tuple]) -> tuple[str, ...]:
  """The (up to) two fields with the most values: (x, y)."""
  ranked = sorted(grid, key=lambda name: -len(grid[name]))
  return tuple(name for name in ranked[:2] if len(grid[name]) > 1) or (
      ranked[0],)


def plot_heatmap(path, rows: list[dict], grid: dict[str, tuple], *,
                 dpi: int) -> None:
  """AUC over two swept fields, one panel per value of the other ones."""
  shown = heatmap_axes(grid)
  x = shown[0]
  y = shown[1] if len(shown) > 1 else None
  others = [n for n in grid if n not in shown and len(grid[n]) > 1]
  panels = list(itertools.product(*(grid[n] for n in others)))
  auc = {tuple(row[n] for n in grid): row['success_auc'] for row in rows}

  def auc_at(chosen):  # The single-valued fields have their one value.
    return auc[tuple(chosen.get(n, grid[n][0]) for n in grid)]

  figure = matplotlib.figure.Figure(
      figsize=(4.2 * len(panels), 3.6), layout='constrained')
  low, high = min(auc.values()), max(auc.values())
  for axis, panel in zip(figure.subplots(1, len(panels), squeeze=False)[0],
                         panels):
    fixed = dict(zip(others, panel))
    ys = grid[y] if y else (None,)
    values = np.array([[auc_at({**fixed, x: xv, y: yv}) for xv in grid[x]]
                       for yv in ys])
    image = axis.imshow(values, origin='lower', cmap='viridis', vmin=low,
                        vmax=high, aspect='auto')
    for (i, j), value in np.ndenumerate(values):
      axis.text(j, i, f'{value:.3f}', ha='center', va='center',
                fontsize='small', color='w')
    axis.set_xticks(range(len(grid[x])), [f'{v:g}' for v in grid[x]])
    axis.set_xlabel(x)
    if y:
      axis.set_yticks(range(len(ys)), [f'{v:g}' for v in ys])
      axis.set_ylabel(y)
    else:
      axis.set_yticks([])
    axis.set_title(', '.join(f'{n}={v:g}' for n, v in fixed.items())
                   or 'success AUC')
  figure.colorbar(image, ax=figure.axes, label='success AUC')
  reports.save_figure(figure, pathlib.Path(path), dpi)


def run(config: ml_collections.ConfigDict) -> tuple[list[dict], str]:
  """Records the config, tracks what is missing and summarises the sweep.

  Writes ``sweep.json`` (config, git revision), the result files, then
  ``sweep.csv`` and ``auc_heatmap.png``.

  Returns:
    (one row per setting, the text to print: the Markdown table and paths).
  """
  config = config.copy_and_resolve_references()
  config.root = str(pathlib.Path(config.root).resolve())
  results_dir = pathlib.Path(config.results_dir)
  entries = otb.load_folders(config.root, names=tuple(config.sequences),
                             max_frames=config.max_frames)
  records.write_json(results_dir / RECORD, records.run_record(
      config, weights=weights.describe(config.track),
      settings=[setting_name(point) for point in points(config)]))
  track(config, entries)
  rows = summarize(config, entries)
  write_csv(results_dir / TABLE, rows)
  plot_heatmap(results_dir / HEATMAP, rows, axes(config),
               dpi=config.plot_dpi)
  text = '\n'.join([reports.markdown_table(*table(rows)),
                    f'table: {results_dir / TABLE}',
                    f'heat map: {results_dir / HEATMAP}',
                    f'record: {results_dir / RECORD}'])
  return rows, text
