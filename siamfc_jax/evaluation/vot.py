"""VOT: the reset-based (supervised) run, in pysot's result format.

Results: ``<tracker>/baseline/<seq>/<seq>_001.txt``, one line per frame
(1 initialised, 2 failure, 0 skipped, else a 0-based x,y,w,h box), and
``<seq>_time.txt``, seconds per frame. Overlaps are the VOT toolkit's, on
the ground-truth polygons (``metrics.vot_overlap``).
"""

import pathlib
import re
import time
from typing import NamedTuple

import numpy as np

from siamfc_jax import boxes as boxes_lib
from siamfc_jax import files
from siamfc_jax import metrics
from siamfc_jax import reports
from siamfc_jax import sequences
from siamfc_jax.evaluation import base
from siamfc_jax.evaluation import otb

# Ground-truth polygons kept beside the boxes of groundtruth.txt (the
# layout of ../shared/data/sequences).
POLYGON_NAME = 'groundtruth_polygon.txt'


class ResetRun(NamedTuple):
  """What ``run_reset`` gives: the run and the seconds of each frame."""

  run: metrics.VOTRun
  seconds: np.ndarray  # 0 for skipped frames.


def read_polygons(folder, num_frames: int) -> np.ndarray | None:
  """The ground-truth polygons of a VOT sequence folder, if it has any.

  They are the 8-number lines (0-based corners, as the toolkit reads them)
  of groundtruth_polygon.txt where present (folders that keep the boxes in
  groundtruth.txt), else of the ground-truth file.

  Returns:
    (num_frames, 4, 2) corners, NaN on the other lines (boxes, NaN); None
    when no line is a polygon.
  """
  folder = pathlib.Path(folder)
  names = (POLYGON_NAME, *sequences.GROUNDTRUTH_NAMES)
  path = next((folder / n for n in names if (folder / n).is_file()), None)
  if path is None:
    return None
  rows = []
  for line in path.read_text().splitlines():
    fields = [f for f in re.split(r'[,\s]+', line.strip()) if f]
    if not fields:
      continue
    try:
      values = np.array([float(f) for f in fields])
    except ValueError:
      raise sequences.SequenceError(
          f'{path}: expected numbers, got {line.strip()!r}') from None
    rows.append(values if values.size == 8 else np.full(8, np.nan))
  if len(rows) != num_frames:
    raise sequences.SequenceError(
        f'{path}: {len(rows)} regions for {num_frames} frames')
  polygons = np.stack(rows).reshape(-1, 4, 2)
  return polygons if not np.isnan(polygons).all() else None


def run_reset(tracker, sequence: sequences.Sequence, *, skip_frames: int,
              polygons=None) -> ResetRun:
  """The VOT/pysot reset-based run: re-initialise after each failure.

  A failure is a box that does not overlap the ground truth (the VOT
  toolkit's overlap 0, on ``polygons`` where given, within the image); the
  tracker is initialised again on the ground-truth box ``skip_frames``
  frames later. Frames without valid ground truth where an initialisation
  is due are skipped. As in ``siamfc_jax.tracker.run``, frame reading is
  not timed and the seconds cover the tracker's calls.
  """
  groundtruth = np.asarray(sequence.groundtruth, np.float64)
  if polygons is not None:
    polygons = np.asarray(polygons, np.float64)
    if len(polygons) != len(groundtruth):
      raise ValueError(f'{len(polygons)} polygons for {len(groundtruth)}'
                       ' frames')
  codes, results, seconds = [], [], []
  restart = 0
  width = height = 0
  for i, frame in enumerate(sequence):
    height, width = np.shape(frame)[:2]
    start = time.perf_counter()
    elapsed = 0.0
    box = np.full(4, np.nan)
    if i == restart and not boxes_lib.is_valid(groundtruth[i])[0]:
      restart += 1
      code = metrics.VOT_SKIPPED
    elif i == restart:
      tracker.init(frame, groundtruth[i])
      elapsed = time.perf_counter() - start
      code = metrics.VOT_INIT
    elif i > restart:
      box = np.asarray(tracker.update(frame), np.float64)
      elapsed = time.perf_counter() - start  # The tracker's time only.
      code = metrics.VOT_TRACKED
      overlap = metrics.vot_overlap(
          box, groundtruth[i], size=(width, height),
          polygons=None if polygons is None else polygons[i:i + 1])[0]
      if overlap <= 0:
        box = np.full(4, np.nan)
        code = metrics.VOT_FAILURE
        restart = i + skip_frames
    else:
      code = metrics.VOT_SKIPPED
    seconds.append(elapsed)
    codes.append(code)
    results.append(box)
  run = metrics.VOTRun(np.asarray(codes), np.stack(results), groundtruth,
                       width, height, polygons)
  return ResetRun(run, np.asarray(seconds))


def read_result(path) -> tuple[np.ndarray, np.ndarray]:
  """(codes, 1-based boxes) of a pysot-format reset-based run file."""
  codes, results = [], []
  for line in pathlib.Path(path).read_text().split():
    values = [float(v) for v in line.split(',')]
    if len(values) == 1:
      codes.append(int(values[0]))
      results.append([np.nan] * 4)
    elif len(values) == 4:
      codes.append(metrics.VOT_TRACKED)
      results.append(np.add(values, [1, 1, 0, 0]))
    else:
      raise base.EvaluationError(f'{path}: bad line {line!r}')
  return np.asarray(codes), np.asarray(results, np.float64).reshape(-1, 4)


class Vot(base.Benchmark):
  """A folder of VOT sequence folders; polygons where the files have them."""

  name = 'vot'
  title = 'VOT reset-based (supervised) evaluation'
  protocol = 'reset'
  definitions = (
      'Reset-based run: failure when the box no longer overlaps the ground'
      ' truth, re-initialised {vot.skip_frames} frames later. Accuracy: mean'
      ' IoU over tracked frames past the {vot.burnin}-frame burn-in after'
      ' each initialisation; robustness: 100 x failures / frames; EAO:'
      ' expected average overlap over sequence lengths {vot.eao_low} to'
      ' {vot.eao_high} (pysot\'s definitions, axis-aligned boxes).')
  overall_columns = (('accuracy', 'Accuracy'), ('robustness', 'Robustness'),
                     ('lost', 'Lost'), ('eao', 'EAO'))
  sequence_columns = (('accuracy', 'Acc'), ('lost', 'lost'))

  def load(self, root, *, names=(), max_frames=None, config=None):
    del config  # No options.
    entries = []
    for entry in otb.load_folders(root, names=names):
      folder = pathlib.Path(root) / entry.name
      polygons = read_polygons(folder, entry.num_frames)
      labels = {} if polygons is None else {'polygons': polygons}
      entries.append(base.Entry(entry.sequence, labels=labels)
                     .truncate(max_frames))
    return entries

  def result_paths(self, results_dir, tracker, name):
    folder = pathlib.Path(results_dir) / tracker / 'baseline' / name
    return folder / f'{name}_001.txt', folder / f'{name}_time.txt'

  def write(self, results_dir, tracker, entry, result: ResetRun):
    """Writes the seconds, then the run in pysot's format (0-based boxes)."""
    boxes_path, seconds_path = self.result_paths(results_dir, tracker,
                                                 entry.name)
    base.write_seconds(seconds_path, result.seconds)
    lines = [','.join(f'{v:.4f}' for v in box - [1, 1, 0, 0])
             if code == metrics.VOT_TRACKED else str(code)
             for code, box in zip(result.run.codes, result.run.boxes)]
    files.write_text(boxes_path, '\n'.join(lines) + '\n')

  def summarize(self, results_dir, tracker, entries, config):
    vot = config.vot
    per_sequence, runs, seconds = {}, [], []
    for entry in entries:
      boxes_path, seconds_path = self.result_paths(results_dir, tracker,
                                                   entry.name)
      codes, run_boxes = read_result(boxes_path)
      width, height = entry.frame_size()
      run = metrics.VOTRun(codes, run_boxes, entry.groundtruth, width,
                           height, entry.label('polygons'))
      runs.append(run)
      seconds.append(base.read_seconds(seconds_path))
      accuracy, robustness, lost = metrics.vot_accuracy_robustness(
          [run], burnin=vot.burnin)
      per_sequence[entry.name] = dict(
          frames=entry.num_frames, accuracy=accuracy, robustness=robustness,
          lost=lost, fps=base.steady_fps(seconds[-1:]))
    accuracy, robustness, lost = metrics.vot_accuracy_robustness(
        runs, burnin=vot.burnin)
    eao, curve = metrics.vot_eao(runs, low=vot.eao_low, high=vot.eao_high,
                                 skipping=vot.skip_frames)
    overall = dict(accuracy=accuracy, robustness=robustness, lost=lost,
                   eao=eao, eao_curve=curve.tolist(),
                   fps=base.steady_fps(seconds))
    return dict(overall=overall, sequences=per_sequence)

  def plots(self, summary, folder, *, dpi, config):
    overall = {n: r['overall'] for n, r in summary['trackers'].items()}
    if not overall:
      return []
    length = max(len(o['eao_curve']) for o in overall.values())
    reports.plot(
        pathlib.Path(folder) / 'eao_curve.png', np.arange(1, length + 1),
        [(f'{n} [{reports.number(o["eao"])}]', o['eao'],
          np.pad(o['eao_curve'], (0, length - len(o['eao_curve'])),
                 constant_values=np.nan)) for n, o in overall.items()],
        title='Expected overlap', xlabel='Sequence length (frames)',
        ylabel='Expected average overlap', dpi=dpi,
        span=(config.vot.eao_low, config.vot.eao_high))
    return ['eao_curve.png']


BENCHMARK = Vot()
