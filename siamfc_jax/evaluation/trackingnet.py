"""TrackingNet: the test-set submission and the metrics on training chunks.

Layout, as TrackingNet-devkit downloads and extracts it: chunk folders
``<root>/TEST`` and ``<root>/TRAIN_0`` ... ``TRAIN_11``, each with
``frames/<video>/0.jpg, 1.jpg, ...`` and ``anno/<video>.txt`` (``x,y,w,h``
lines: one per frame in the training chunks, the first frame's only in
TEST). ``--root`` may also be one chunk folder. Otherwise
``config.trackingnet.split`` picks the chunks: 'test' (default), 'train'
(every TRAIN_* chunk present) or chunk names joined by commas
('TRAIN_0,TRAIN_3').

Results: ``<tracker>/<video>.txt``, one ``x,y,w,h`` per frame, and
``<tracker>/times/<video>_time.txt``; the report writes
``<tracker>.zip`` with the ``<video>.txt`` files at its top level, the
archive the evaluation server (eval.tracking-net.org) takes.

Metrics, where every frame has ground truth (training chunks), are the
server's (TrackingNet-devkit's metrics.py, ``metrics.trackingnet_ope``):
success, precision and normalised precision are each the trapezoidal area
under a 21-point curve of its sequence-averaged fractions of frames (IoU
> t for t in [0, 1]; centre error <= t px for t in [0, 50]; centre error
over the ground-truth size <= t for t in [0, 0.5]), computed on boxes
rounded to whole pixels, the first frame included as the ground truth.
"""

import io
import pathlib
import re
import zipfile

import numpy as np

from siamfc_jax import files
from siamfc_jax import metrics
from siamfc_jax import reports
from siamfc_jax import sequences
from siamfc_jax.evaluation import base
from siamfc_jax.evaluation import otb

TEST_CHUNK = 'TEST'
TRAIN_CHUNKS = tuple(f'TRAIN_{i}' for i in range(12))


def is_chunk(folder: pathlib.Path) -> bool:
  return (folder / 'anno').is_dir() and (folder / 'frames').is_dir()


def chunk_folders(root: pathlib.Path, split: str) -> list[pathlib.Path]:
  """The chunk folders ``split`` names under ``root`` (or root itself)."""
  if is_chunk(root):
    return [root]
  if split == 'test':
    names = (TEST_CHUNK,)
  elif split == 'train':
    names = tuple(n for n in TRAIN_CHUNKS if is_chunk(root / n))
  else:
    names = tuple(n.strip() for n in split.split(',') if n.strip())
    unknown = [n for n in names if n not in (TEST_CHUNK, *TRAIN_CHUNKS)]
    if unknown:
      raise base.EvaluationError(
          f'unknown TrackingNet chunk {", ".join(unknown)}; use test, train'
          f' or chunk names ({TEST_CHUNK}, TRAIN_0 ... TRAIN_11)')
  folders = [root / n for n in names]
  missing = [str(f) for f in folders if not is_chunk(f)]
  if missing or not folders:
    raise sequences.SequenceError(
        f'{", ".join(missing) or root}: no TrackingNet chunk (anno/ and'
        ' frames/) found')
  return folders


def frame_paths(folder: pathlib.Path) -> list[pathlib.Path]:
  """A video's frames, 0.jpg, 1.jpg, ... in number order."""
  paths = [p for p in folder.glob('*.jpg') if re.fullmatch(r'\d+', p.stem)]
  if not paths:
    raise sequences.SequenceError(f'{folder}: no frames (0.jpg, 1.jpg, ...)')
  return sorted(paths, key=lambda p: int(p.stem))


def load_video(chunk: pathlib.Path, name: str) -> base.Entry:
  """One video of a chunk; ground truth NaN where not given (TEST)."""
  anno = chunk / 'anno' / f'{name}.txt'
  paths = frame_paths(chunk / 'frames' / name)
  given = sequences.read_boxes(anno)
  if len(given) not in (1, len(paths)):
    raise sequences.SequenceError(
        f'{anno}: {len(given)} boxes for {len(paths)} frames (expected 1 or'
        ' one per frame)')
  groundtruth = np.full((len(paths), 4), np.nan)
  groundtruth[:len(given)] = given
  sequence = sequences.Sequence(
      name=name, num_frames=len(paths),
      read_frames=lambda: map(sequences.read_image, paths),
      groundtruth=groundtruth, groundtruth_file=anno)
  return base.Entry(sequence)


def _split(config) -> str:
  options = config.get('trackingnet') if config is not None else None
  return options.get('split', 'test') if options is not None else 'test'


def zip_submission(results_dir, tracker: str) -> pathlib.Path:
  """``<tracker>.zip``: every ``<video>.txt`` box file at the top level."""
  results_dir = pathlib.Path(results_dir)
  buffer = io.BytesIO()
  with zipfile.ZipFile(buffer, 'w', zipfile.ZIP_DEFLATED) as archive:
    for path in sorted((results_dir / tracker).glob('*.txt')):
      archive.write(path, path.name)
  path = results_dir / f'{tracker}.zip'
  files.write_bytes(path, buffer.getvalue())
  return path


class TrackingNet(otb.Otb):
  """TrackingNet chunks: a submission zip, and metrics where labelled."""

  name = 'trackingnet'
  title = 'TrackingNet'
  definitions = (
      'As the TrackingNet evaluation server (TrackingNet-devkit metrics.py),'
      ' on boxes rounded to whole pixels, every frame counted and the first'
      ' being the ground truth: success, precision and normalised precision'
      ' are the trapezoidal areas under 21-point curves, averaged over'
      ' sequences, of the fraction of frames with IoU > t (t in [0, 1]),'
      ' centre error <= t px (t in [0, 50]) and centre error divided by the'
      ' ground-truth width and height <= t (t in [0, 0.5]), each threshold'
      ' range mapped onto [0, 1]. Videos without ground truth past the'
      ' first frame (TEST) have no metrics: upload <tracker>.zip to the'
      ' server.')
  overall_columns = (('success', 'Success'), ('precision', 'Precision'),
                     ('normalized_precision', 'Norm. precision'))
  sequence_columns = (('success', 'Success'), ('precision', 'Prec.'))

  def load(self, root, *, names=(), max_frames=None, config=None):
    root = base.existing_folder(root)
    videos = {}
    for chunk in chunk_folders(root, _split(config)):
      for anno in sorted((chunk / 'anno').glob('*.txt')):
        if anno.stem in videos:
          raise sequences.SequenceError(
              f'{anno}: video {anno.stem} also in {videos[anno.stem]}')
        videos[anno.stem] = chunk
    if not videos:
      raise sequences.SequenceError(f'{root}: no anno/<video>.txt found')
    return [load_video(videos[name], name).truncate(max_frames)
            for name in base.select(videos, names, root, name=lambda n: n)]

  def summarize(self, results_dir, tracker, entries, config):
    del config  # The split only chooses the entries.
    rows, scored, seconds = {}, [], []
    for entry, result in zip(entries,
                             self.results(results_dir, tracker, entries)):
      seconds.append(result.seconds)
      rows[entry.name] = dict(frames=entry.num_frames,
                              fps=base.steady_fps(seconds[-1:]))
      if np.isfinite(entry.groundtruth[1:]).all():
        scored.append(metrics.trackingnet_ope(result.boxes,
                                              entry.groundtruth))
        rows[entry.name].update(
            success=scored[-1].success, precision=scored[-1].precision,
            normalized_precision=scored[-1].normalized_precision)
    overall = dict(fps=base.steady_fps(seconds), evaluated=len(scored))
    if scored:
      average = metrics.average_trackingnet(scored)
      overall.update(
          success=average.success, precision=average.precision,
          normalized_precision=average.normalized_precision,
          success_curve=average.success_curve.tolist(),
          precision_curve=average.precision_curve.tolist(),
          normalized_precision_curve=(
              average.normalized_precision_curve.tolist()))
    return dict(overall=overall, sequences=rows)

  def plots(self, summary, folder, *, dpi, config):
    del config  # No options.
    overall = {n: r['overall'] for n, r in summary['trackers'].items()}
    overall = {n: o for n, o in overall.items() if 'success' in o}
    if not overall:
      return []  # TEST: no ground truth past the first frame.
    folder = pathlib.Path(folder)
    plots = (
        ('success', metrics.TRACKINGNET_SUCCESS_THRESHOLDS,
         'Success plots on TrackingNet', 'Overlap threshold'),
        ('precision', metrics.TRACKINGNET_PRECISION_THRESHOLDS,
         'Precision plots on TrackingNet', 'Location error threshold'
         ' (pixels)'),
        ('normalized_precision', metrics.TRACKINGNET_NORMALIZED_THRESHOLDS,
         'Normalized precision plots on TrackingNet',
         'Normalized location error threshold'))
    names = []
    for key, x, title, xlabel in plots:
      names.append(f'{key}_plot.png')
      reports.plot(folder / names[-1], x,
                   [(f'{n} [{o[key]:.3f}]', o[key], o[f'{key}_curve'])
                    for n, o in overall.items()],
                   title=title, xlabel=xlabel,
                   ylabel='Success rate' if key == 'success' else 'Precision',
                   dpi=dpi)
    return names

  def finish(self, results_dir, summary):
    for tracker in summary['trackers']:
      zip_submission(results_dir, tracker)


BENCHMARK = TrackingNet()
