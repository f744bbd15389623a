"""NfS (Need for Speed) at 30 fps: one-pass evaluation.

Layout, as downloaded: ``<root>/<seq>/30/<seq>/00001.jpg ...`` and the
annotation ``<root>/<seq>/30/<seq>.txt`` (the 240 fps videos beside them
in ``240/`` are not used); every ``<root>/*/30/<name>.txt`` is a sequence
called ``<name>``, sorted by name. Annotation lines are VATIC's: track id, xmin,
ymin, xmax, ymax, frame, lost (out of view), occluded, generated
(interpolated) and the quoted label. Boxes are (xmin, ymin, xmax - xmin,
ymax - ymin). Quirks, handled as the got10k toolkit does: many 30 fps
annotation files hold the 240 fps annotation (about eight lines a frame),
of which every eighth line, from the first, is kept; a file (after that)
one line longer or shorter than the frames is cut to the shorter.

Results: ``<tracker>/<seq>.txt`` and ``<tracker>/times/<seq>_time.txt``.
Metrics: OTB success AUC and precision at 20 px (``ope.summarize``: frames
with a valid ground-truth box, as pytracking counts NfS).
"""

import pathlib

import numpy as np

from siamfc_jax import sequences
from siamfc_jax.evaluation import base
from siamfc_jax.evaluation import ope
from siamfc_jax.evaluation import otb

FPS = 30
SUBSAMPLING = 8  # 240 fps annotation lines per 30 fps frame.


def read_annotation(path: pathlib.Path) -> np.ndarray:
  """(N, 9) VATIC columns, track to generated: one row per annotation line."""
  rows = []
  try:
    lines = path.read_text().splitlines()
  except (OSError, UnicodeDecodeError) as e:
    raise sequences.SequenceError(f'{path}: cannot read ({e})') from None
  for number, line in enumerate(lines, start=1):
    fields = line.split('"')[0].split()
    if not fields:
      continue
    try:
      values = [float(f) for f in fields[:9]]
    except ValueError:
      values = []
    if len(values) < 9:
      raise sequences.SequenceError(
          f'{path}:{number}: expected track, xmin, ymin, xmax, ymax, frame,'
          f' lost, occluded, generated and a label; got {line.strip()!r}')
    rows.append(values)
  if not rows:
    raise sequences.SequenceError(f'{path}: no annotation lines')
  return np.asarray(rows)


def load_sequence(anno) -> base.Entry:
  """One NfS sequence at 30 fps: frames, boxes and per-frame flags.

  Args:
    anno: ``<seq>/30/<name>.txt``; the frames are in ``<seq>/30/<name>/``.

  Returns:
    The entry called ``name``, with labels 'out_of_view' (VATIC's lost),
    'occluded' and 'generated'.
  """
  anno = pathlib.Path(anno)
  name = anno.stem
  frames_dir = anno.parent / name
  if not frames_dir.is_dir():
    raise sequences.SequenceError(f'{frames_dir}: no such frame folder')
  paths = sorted(frames_dir.glob('*.jpg'))
  if not paths:
    raise sequences.SequenceError(f'{frames_dir}: no .jpg frames found')
  rows = read_annotation(anno)
  if abs(len(rows) / len(paths) - SUBSAMPLING) < 1:
    rows = rows[::SUBSAMPLING]
  if abs(len(rows) - len(paths)) == 1:
    count = min(len(rows), len(paths))
    rows, paths = rows[:count], paths[:count]
  if len(rows) != len(paths):
    raise sequences.SequenceError(
        f'{anno}: {len(rows)} boxes for {len(paths)} frames in {frames_dir}')
  corners = rows[:, 1:5]
  groundtruth = np.concatenate(
      [corners[:, :2], corners[:, 2:] - corners[:, :2]], axis=1)
  sequences.check_frames(paths)
  sequence = sequences.Sequence(
      name=name, num_frames=len(paths),
      read_frames=lambda: map(sequences.read_image, paths),
      groundtruth=groundtruth, groundtruth_file=anno)
  labels = {key: rows[:, column].astype(np.int64) for key, column in
            (('out_of_view', 6), ('occluded', 7), ('generated', 8))}
  return base.Entry(sequence, labels=labels)


class Nfs(otb.Otb):
  """NfS sequence folders, their 30 fps frames and annotation."""

  name = 'nfs'
  title = 'NfS (30 fps) one-pass evaluation'
  definitions = ope.definitions(
      ope.LEFT_OUT, before='On the 30 fps frames, every eighth line of a'
      ' 240 fps annotation kept. ')

  def load(self, root, *, names=(), max_frames=None, config=None):
    del config  # No options.
    root = base.existing_folder(root)
    annos = sorted(root.glob(f'*/{FPS}/*.txt'), key=lambda p: p.stem)
    if not annos:
      raise sequences.SequenceError(
          f'{root}: no NfS sequences (<seq>/{FPS}/<seq>.txt) found')
    return [load_sequence(anno).truncate(max_frames)
            for anno in base.select(annos, names, root,
                                    name=lambda anno: anno.stem)]


BENCHMARK = Nfs()
