"""TC128 (Temple Color 128): one-pass evaluation.

Layout, as downloaded (Temple-color-128): ``<root>/<seq>/img/0001.jpg
...``, ``<root>/<seq>/<seq>_gt.txt`` (``x,y,w,h`` per evaluated frame) and
``<root>/<seq>/<seq>_frames.txt`` (``first,last``: the frame numbers the
ground truth covers; the folder may hold frames outside that range, which
are not tracked). Every folder with a ``*_gt.txt`` is a sequence.

Results: ``<tracker>/<seq>.txt`` and ``<tracker>/times/<seq>_time.txt``.
Metrics: OTB success AUC and precision at 20 px, as this package's OTB
benchmark computes them (``ope.summarize``: frames without a valid
ground-truth box left out). TC128's own toolkit, the OTB MATLAB toolkit,
gives the same numbers wherever every ground-truth and tracked box is
valid (it counts a frame without a ground-truth box as a failure of the
success curve and repairs a missing tracked box with the previous one, see
``metrics.toolkit_ope``).
"""

import pathlib
import re

from siamfc_jax import sequences
from siamfc_jax.evaluation import base
from siamfc_jax.evaluation import ope
from siamfc_jax.evaluation import otb


def _one(folder: pathlib.Path, suffix: str) -> pathlib.Path:
  paths = sorted(folder.glob(f'*{suffix}'))
  if len(paths) != 1:
    raise sequences.SequenceError(
        f'{folder}: expected one *{suffix} file, found {len(paths)}')
  return paths[0]


def read_range(path: pathlib.Path) -> tuple[int, int]:
  """The ``first,last`` frame numbers of a ``<seq>_frames.txt``."""
  try:
    fields = [f for f in re.split(r'[,\s]+', path.read_text().strip()) if f]
    first, last = (int(f) for f in fields)
  except (OSError, ValueError):
    raise sequences.SequenceError(
        f'{path}: expected two frame numbers first,last') from None
  if not 1 <= first <= last:
    raise sequences.SequenceError(f'{path}: bad frame range {first},{last}')
  return first, last


def load_sequence(folder) -> base.Entry:
  """One TC128 sequence: the frames of its range and their boxes."""
  folder = pathlib.Path(folder)
  anno = _one(folder, '_gt.txt')
  first, last = read_range(_one(folder, '_frames.txt'))
  paths = [folder / 'img' / f'{frame:04d}.jpg'
           for frame in range(first, last + 1)]
  groundtruth = sequences.read_boxes(anno)
  if len(groundtruth) != len(paths):
    raise sequences.SequenceError(
        f'{anno}: {len(groundtruth)} boxes for the {len(paths)} frames'
        f' {first} to {last}')
  sequences.check_frames(paths)
  sequence = sequences.Sequence(
      name=folder.name, num_frames=len(paths),
      read_frames=lambda: map(sequences.read_image, paths),
      groundtruth=groundtruth, groundtruth_file=anno)
  return base.Entry(sequence)


class Tc128(otb.Otb):
  """TC128 sequence folders with their *_gt.txt and *_frames.txt."""

  name = 'tc128'
  title = 'TC128 one-pass evaluation'
  definitions = ope.definitions(ope.LEFT_OUT)

  def load(self, root, *, names=(), max_frames=None, config=None):
    del config  # No options.
    root = base.existing_folder(root)
    folders = sorted({p.parent for p in root.glob('*/*_gt.txt')})
    if not folders:
      raise sequences.SequenceError(
          f'{root}: no TC128 sequences (<seq>/<seq>_gt.txt) found')
    return [load_sequence(folder).truncate(max_frames)
            for folder in base.select(folders, names, root,
                                      name=lambda folder: folder.name)]


BENCHMARK = Tc128()
