"""GOT-10k: one-pass evaluation of a val or test split.

Results, in the submission layout: ``<tracker>/<seq>/<seq>_001.txt``
(boxes) and ``<seq>_time.txt`` (seconds per frame); the report zips each
complete tracker's folder into ``<tracker>.zip``, ready to upload.
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


def _read_resolution(path: pathlib.Path) -> tuple[int, int] | None:
  if not path.is_file():
    return None
  match = re.search(r'^resolution:\s*\((\d+),\s*(\d+)\)', path.read_text(),
                    re.MULTILINE)
  return (int(match[1]), int(match[2])) if match else None


def _read_label(path: pathlib.Path, num_frames: int) -> np.ndarray | None:
  if not path.is_file():
    return None
  try:
    label = np.loadtxt(path, ndmin=1)
  except ValueError as e:
    raise sequences.SequenceError(f'{path}: cannot read labels ({e})') from None
  if label.shape != (num_frames,):
    raise sequences.SequenceError(
        f'{path}: {label.size} labels for {num_frames} frames')
  return label


def load_sequence(folder) -> base.Entry:
  """A GOT-10k val/test sequence: frames, ground truth and labels.

  The test split's groundtruth.txt holds only the first box; the other
  rows are NaN. cover.label and absence.label (labels 'cover' and
  'absence') and meta_info.ini's resolution are read where present. Every
  frame's header is opened now (``sequences.check_frames``).
  """
  folder = pathlib.Path(folder)
  if not folder.is_dir():
    raise sequences.SequenceError(f'{folder}: no such sequence folder')
  paths = sorted(folder.glob('*.jpg'))
  if not paths:
    raise sequences.SequenceError(f'{folder}: no .jpg frames found')
  given = sequences.read_boxes(folder / 'groundtruth.txt')
  if len(given) not in (1, len(paths)):
    raise sequences.SequenceError(
        f'{folder / "groundtruth.txt"}: {len(given)} boxes for {len(paths)}'
        ' frames (expected 1 or one per frame)')
  sequences.check_frames(paths)
  groundtruth = np.full((len(paths), 4), np.nan)
  groundtruth[:len(given)] = given
  sequence = sequences.Sequence(
      name=folder.name, num_frames=len(paths),
      read_frames=lambda: map(sequences.read_image, paths),
      groundtruth=groundtruth)
  labels = {name: label for name in ('cover', 'absence') if (
      label := _read_label(folder / f'{name}.label', len(paths))) is not None}
  return base.Entry(sequence, labels=labels,
                    resolution=_read_resolution(folder / 'meta_info.ini'))


def zip_submission(results_dir, tracker: str) -> None:
  """``<tracker>.zip``: the tracker's GOT-10k folder, ready to upload."""
  results_dir = pathlib.Path(results_dir)
  folder = results_dir / tracker
  buffer = io.BytesIO()
  with zipfile.ZipFile(buffer, 'w', zipfile.ZIP_DEFLATED) as archive:
    for path in sorted(folder.rglob('*.txt')):
      archive.write(path, path.relative_to(folder).as_posix())
  files.write_bytes(results_dir / f'{tracker}.zip', buffer.getvalue())


class Got10k(base.Benchmark):
  """A split folder with list.txt and one folder per sequence."""

  name = 'got10k'
  title = 'GOT-10k'
  definitions = (
      'AO: mean IoU over all frames of all sequences but the first of each'
      ' and those where the target is not visible; SR0.5 and SR0.75:'
      ' fraction of those frames with IoU > 0.5 and > 0.75; toolkit speed:'
      ' mean of 1 / seconds over frames (the GOT-10k toolkit).')
  overall_columns = (('ao', 'AO'), ('sr50', 'SR0.5'), ('sr75', 'SR0.75'),
                     ('speed_fps', 'Toolkit speed'))
  sequence_columns = (('ao', 'AO'), ('sr50', 'SR0.5'))

  def load(self, root, *, names=(), max_frames=None, config=None):
    del config  # No options.
    root = pathlib.Path(root)
    list_file = root / 'list.txt'
    if not list_file.is_file():
      raise sequences.SequenceError(f'{list_file}: no GOT-10k sequence list')
    listed = base.select(list_file.read_text().split(), names, root,
                         name=lambda name: name)
    return [load_sequence(root / name).truncate(max_frames)
            for name in listed]

  def result_paths(self, results_dir, tracker, name):
    folder = pathlib.Path(results_dir) / tracker / name
    return folder / f'{name}_001.txt', folder / f'{name}_time.txt'

  def summarize(self, results_dir, tracker, entries, config):
    del config  # No options.
    per_sequence, ious, seconds = {}, [], []
    for entry in entries:
      boxes_path, seconds_path = self.result_paths(results_dir, tracker,
                                                   entry.name)
      seconds.append(base.read_seconds(seconds_path))
      row = dict(frames=entry.num_frames,
                 speed_fps=metrics.got10k_speed(seconds[-1]))
      sequence_ious = metrics.got10k_ious(
          sequences.read_boxes(boxes_path), entry.groundtruth,
          frame_size=entry.frame_size(), cover=entry.label('cover'),
          absence=entry.label('absence'))
      if sequence_ious.size:
        result = metrics.got10k(sequence_ious)
        row.update(ao=result.ao, sr50=result.sr50, sr75=result.sr75)
        ious.append(sequence_ious)
      per_sequence[entry.name] = row
    overall = dict(speed_fps=metrics.got10k_speed(np.concatenate(seconds)),
                   fps=base.steady_fps(seconds))
    if ious:
      result = metrics.got10k(np.concatenate(ious))
      overall.update(ao=result.ao, sr50=result.sr50, sr75=result.sr75,
                     success_curve=result.success_curve.tolist())
    return dict(overall=overall, sequences=per_sequence)

  def plots(self, summary, folder, *, dpi, config):
    del config  # No options.
    overall = {n: r['overall'] for n, r in summary['trackers'].items()}
    if not overall or not all('ao' in o for o in overall.values()):
      return []  # The test split: no ground truth past the first frame.
    reports.plot(pathlib.Path(folder) / 'success_plot.png',
                 metrics.GOT10K_THRESHOLDS,
                 [(f'{n}: [{o["ao"]:.3f}]', o['ao'], o['success_curve'])
                  for n, o in overall.items()],
                 title='Success plots on GOT-10k', xlabel='Overlap threshold',
                 ylabel='Success rate', dpi=dpi)
    return ['success_plot.png']

  def finish(self, results_dir, summary):
    for tracker in summary['trackers']:
      zip_submission(results_dir, tracker)


BENCHMARK = Got10k()
