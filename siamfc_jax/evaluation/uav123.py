"""UAV123, UAV20L and UAV123@10fps: one-pass evaluation of drone videos.

Layout, as downloaded: ``<root>/data_seq/UAV123/<folder>/000001.jpg ...``
and ``<root>/anno/UAV123/<seq>.txt`` (UAV20L: ``anno/UAV20L/<seq>.txt``,
frames in the same folders; UAV123@10fps: ``data_seq/UAV123_10fps`` and
``anno/UAV123_10fps``). One annotation line per frame, ``x,y,w,h``, and
``NaN,NaN,NaN,NaN`` where the target is out of view or fully occluded.
UAV123 cuts several long videos into sequences ('bird1_1', 'bird1_2'...)
that cover a frame range of one folder, with gaps between them: the table
below gives each sequence's folder and range (the benchmark's
configSeqs.m); UAV20L tracks 20 of the folders whole; UAV123@10fps keeps
every third frame of the same videos (frame f at 30 fps is frame
(f - 1) // 3 + 1). The sequences whose annotation file is present are
evaluated, in the table's order.

Results: ``<tracker>/<seq>.txt`` and ``<tracker>/times/<seq>_time.txt``.

Metrics (``metrics.toolkit_ope``), as the benchmark's toolkit (the OTB
toolkit's calcSeqErrRobust.m), pysot-toolkit and pytracking count them:
a frame whose ground truth is NaN stays in the denominator, failing every
success threshold and passing every precision threshold. (The got10k
toolkit instead leaves those frames out.)
"""

import pathlib

import numpy as np

from siamfc_jax import metrics
from siamfc_jax import sequences
from siamfc_jax.evaluation import base
from siamfc_jax.evaluation import ope
from siamfc_jax.evaluation import otb

# UAV123 at 30 fps, in the benchmark's order: folder -> its last frame
# (one sequence, named as the folder, from frame 1), or the (first, last)
# frame ranges of its sequences <folder>_1, <folder>_2, ...
UAV123_FOLDERS = {
    'bike1': 3085, 'bike2': 553, 'bike3': 433,
    'bird1': ((1, 253), (775, 1477), (1573, 2437)),
    'boat1': 901, 'boat2': 799, 'boat3': 901, 'boat4': 553, 'boat5': 505,
    'boat6': 805, 'boat7': 535, 'boat8': 685, 'boat9': 1399,
    'building1': 469, 'building2': 577, 'building3': 829, 'building4': 787,
    'building5': 481,
    'car1': ((1, 751), (751, 1627), (1627, 2629)),
    'car2': 1321, 'car3': 1717, 'car4': 1345, 'car5': 745,
    'car6': ((1, 487), (487, 1807), (1807, 2953), (2953, 3925),
             (3925, 4861)),
    'car7': 1033, 'car8': ((1, 1357), (1357, 2575)), 'car9': 1879,
    'car10': 1405, 'car11': 337, 'car12': 499, 'car13': 415, 'car14': 1327,
    'car15': 469, 'car16': ((1, 415), (415, 1993)), 'car17': 1057,
    'car18': 1207,
    'group1': ((1, 1333), (1333, 2515), (2515, 3925), (3925, 4873)),
    'group2': ((1, 907), (907, 1771), (1771, 2683)),
    'group3': ((1, 1567), (1567, 2827), (2827, 4369), (4369, 5527)),
    'person1': 799, 'person2': ((1, 1189), (1189, 2623)), 'person3': 643,
    'person4': ((1, 1501), (1501, 2743)),
    'person5': ((1, 877), (877, 2101)), 'person6': 901,
    'person7': ((1, 1249), (1249, 2065)),
    'person8': ((1, 1075), (1075, 1525)), 'person9': 661,
    'person10': 1021, 'person11': 721,
    'person12': ((1, 601), (601, 1621)), 'person13': 883,
    'person14': ((1, 847), (847, 1813), (1813, 2923)),
    'person15': 1339, 'person16': 1147,
    'person17': ((1, 1501), (1501, 2347)), 'person18': 1393,
    'person19': ((1, 1243), (1243, 2791), (2791, 4357)),
    'person20': 1783, 'person21': 487, 'person22': 199, 'person23': 397,
    'truck1': 463, 'truck2': 385, 'truck3': 535,
    'truck4': ((1, 577), (577, 1261)),
    'uav1': ((1, 1555), (1555, 2377), (2473, 3469)),
    'uav2': 133, 'uav3': 265, 'uav4': 157, 'uav5': 139, 'uav6': 109,
    'uav7': 373, 'uav8': 301,
    'wakeboard1': 421, 'wakeboard2': 733, 'wakeboard3': 823,
    'wakeboard4': 697, 'wakeboard5': 1675, 'wakeboard6': 1165,
    'wakeboard7': 199, 'wakeboard8': 1543, 'wakeboard9': 355,
    'wakeboard10': 469,
    # Synthetic sequences (rendered by the benchmark's simulator).
    'car1_s': 1475, 'car2_s': 320, 'car3_s': 1300, 'car4_s': 830,
    'person1_s': 1600, 'person2_s': 250, 'person3_s': 505,
}
# UAV20L: whole folders, from frame 1 to the last frame UAV123 uses.
UAV20L_FOLDERS = (
    'bike1', 'bird1', 'car1', 'car3', 'car6', 'car8', 'car9', 'car16',
    'group1', 'group2', 'group3', 'person2', 'person4', 'person5', 'person7',
    'person14', 'person17', 'person19', 'person20', 'uav1')


def uav123_table() -> dict[str, tuple[str, int, int]]:
  """UAV123's sequences: name -> (folder, first frame, last frame)."""
  table = {}
  for folder, frames in UAV123_FOLDERS.items():
    if isinstance(frames, int):
      table[folder] = (folder, 1, frames)
    else:
      for i, (first, last) in enumerate(frames, start=1):
        table[f'{folder}_{i}'] = (folder, first, last)
  return table


def uav20l_table() -> dict[str, tuple[str, int, int]]:
  """UAV20L's sequences: name -> (folder, 1, last frame)."""
  last = {folder: end for folder, _, end in uav123_table().values()}
  return {folder: (folder, 1, last[folder]) for folder in UAV20L_FOLDERS}


def uav123_10fps_table() -> dict[str, tuple[str, int, int]]:
  """UAV123@10fps: UAV123's ranges on every third frame."""
  tenth = lambda frame: (frame - 1) // 3 + 1  # noqa: E731
  return {name: (folder, tenth(first), tenth(last))
          for name, (folder, first, last) in uav123_table().items()}


def load_sequence(frames_dir: pathlib.Path, anno: pathlib.Path, name: str,
                  first: int, last: int) -> base.Entry:
  """Frames first..last (000001.jpg numbering) and their annotation.

  Label 'absent': the frames whose box is NaN.
  """
  paths = [frames_dir / f'{frame:06d}.jpg' for frame in range(first, last + 1)]
  missing = [p for p in (paths[0], paths[-1]) if not p.is_file()]
  if missing:
    raise sequences.SequenceError(
        f'{missing[0]}: not found (sequence {name} is frames {first} to'
        f' {last} of {frames_dir})')
  groundtruth = sequences.read_boxes(anno)
  if len(groundtruth) != len(paths):
    raise sequences.SequenceError(
        f'{anno}: {len(groundtruth)} boxes for the {len(paths)} frames'
        f' {first} to {last} of {frames_dir}')
  if not np.isfinite(groundtruth[0]).all():
    raise sequences.SequenceError(f'{anno}: no box in the first frame')
  sequences.check_frames(paths)
  sequence = sequences.Sequence(
      name=name, num_frames=len(paths),
      read_frames=lambda: map(sequences.read_image, paths),
      groundtruth=groundtruth, groundtruth_file=anno)
  return base.Entry(
      sequence, labels={'absent': np.isnan(groundtruth).any(axis=1)})


class Uav(otb.Otb):
  """One of the UAV benchmarks: its table, folders and the toolkit's rule."""

  overall_columns = (('success_auc', 'Success AUC'),
                     ('precision_20px', 'Precision@20px'))

  def __init__(self, name: str, title: str, table, frames: str, anno: str):
    self.name, self.title = name, title
    self.table, self.frames, self.anno = table, frames, anno
    self.definitions = ope.definitions(
        'frames whose target is absent (NaN ground truth) stay in the'
        ' denominator, failing every overlap threshold and passing every'
        ' error threshold, a missing or empty box takes the previous'
        ' frame\'s and the first frame is the ground truth',
        before=f'Scored as the {title} toolkit scores (the OTB toolkit\'s'
        ' rule, also pysot\'s and pytracking\'s). ')

  def load(self, root, *, names=(), max_frames=None, config=None):
    del config  # No options.
    root = pathlib.Path(root)
    anno_dir = root / 'anno' / self.anno
    if not anno_dir.is_dir():
      raise sequences.SequenceError(
          f'{anno_dir}: no such folder (expected {self.title}\'s'
          f' anno/{self.anno} and data_seq/{self.frames})')
    table = self.table()
    unknown = sorted(p.stem for p in anno_dir.glob('*.txt')
                     if p.stem not in table)
    if unknown:
      raise sequences.SequenceError(
          f'{anno_dir}: {", ".join(unknown)} not {self.title} sequences')
    found = [name for name in table if (anno_dir / f'{name}.txt').is_file()]
    if not found:
      raise sequences.SequenceError(f'{anno_dir}: no annotation files')
    entries = []
    for name in base.select(found, names, root, name=lambda n: n):
      folder, first, last = table[name]
      entries.append(load_sequence(
          root / 'data_seq' / self.frames / folder, anno_dir / f'{name}.txt',
          name, first, last).truncate(max_frames))
    return entries

  def summarize(self, results_dir, tracker, entries, config):
    del config  # No options.
    rows, scored, seconds = {}, [], []
    for entry, result in zip(entries,
                             self.results(results_dir, tracker, entries)):
      scored.append(metrics.toolkit_ope(result.boxes, entry.groundtruth))
      seconds.append(result.seconds)
      rows[entry.name] = dict(
          frames=entry.num_frames, success_auc=scored[-1].auc,
          precision_20px=scored[-1].precision,
          fps=base.steady_fps(seconds[-1:]))
    average = metrics.average_toolkit_ope(scored)
    overall = dict(success_auc=average.auc, precision_20px=average.precision,
                   fps=base.steady_fps(seconds),
                   success_curve=average.success_curve.tolist(),
                   precision_curve=average.precision_curve.tolist())
    return dict(overall=overall, sequences=rows)


UAV123 = Uav('uav123', 'UAV123', uav123_table, 'UAV123', 'UAV123')
UAV20L = Uav('uav20l', 'UAV20L', uav20l_table, 'UAV123', 'UAV20L')
UAV123_10FPS = Uav('uav123_10fps', 'UAV123@10fps', uav123_10fps_table,
                   'UAV123_10fps', 'UAV123_10fps')
BENCHMARK = UAV123
BENCHMARKS = (UAV123, UAV20L, UAV123_10FPS)
