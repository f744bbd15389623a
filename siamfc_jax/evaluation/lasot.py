"""LaSOT: one-pass evaluation as the LaSOT toolkit defines it.

Layout, as downloaded: ``<root>/<class>/<class>-<n>/`` (or, as in the test
split's own archive, ``<root>/<class>-<n>/``) holding ``img/00000001.jpg``
..., ``groundtruth.txt`` (one ``x,y,w,h`` per frame), ``full_occlusion.txt``
and ``out_of_view.txt`` (one comma-separated 0/1 flag per frame) and
``nlp.txt``. ``config.lasot.split`` picks the sequences: 'test' (default;
the 280 of the official test split, protocol II), 'train' (the other
1,120) or 'all' (1,400, protocol I); those of the split found under the
root are evaluated, in class then number order.

Results: ``<tracker>/<seq>.txt`` (x,y,w,h per frame, the layout the LaSOT
toolkit and pytracking read) and ``<tracker>/times/<seq>_time.txt``.

Metrics (``metrics.toolkit_ope``): the LaSOT toolkit's
``calc_seq_err_robust.m`` and ``eval_tracker.m``. A frame whose target is
absent (fully occluded or out of view) is removed before scoring but stays
in the denominator, so it counts as a failure at every threshold; so does
pytracking (its frames of an invisible target score IoU -1 and an infinite
error over all frames). pytracking differs only on frames whose ground
truth has x or y <= 0 (it scores them; the toolkit fails them on the
success curve and passes them on the precision curves) and on NaN boxes
(it refuses them; the toolkit repairs them, see ``metrics``). The normalised
precision is reported at 0.2 (as pytracking and pysot print it) and as the
area under its curve from 0 to 0.5 (how the LaSOT paper ranks trackers).
Numbers are given per sequence, per class and over all sequences (curves
averaged over sequences, each weighing the same).
"""

import pathlib
import re

import numpy as np
from absl import logging

from siamfc_jax import metrics
from siamfc_jax import reports
from siamfc_jax import sequences
from siamfc_jax.evaluation import base
from siamfc_jax.evaluation import otb

# The official test split (the toolkit's testing_set.txt): class -> its
# four sequence numbers. Every class has sequences 1 to 20; the others form
# the training split.
TEST_SPLIT = {
    'airplane': (1, 9, 13, 15), 'basketball': (1, 6, 7, 11),
    'bear': (2, 4, 6, 17), 'bicycle': (2, 7, 9, 18), 'bird': (2, 3, 15, 17),
    'boat': (3, 4, 12, 17), 'book': (3, 10, 11, 19),
    'bottle': (1, 12, 14, 18), 'bus': (2, 5, 17, 19), 'car': (2, 6, 9, 17),
    'cat': (1, 3, 18, 20), 'cattle': (2, 7, 12, 13),
    'chameleon': (3, 6, 11, 20), 'coin': (3, 6, 7, 18),
    'crab': (3, 6, 12, 18), 'crocodile': (3, 4, 10, 14),
    'cup': (1, 4, 7, 17), 'deer': (4, 8, 10, 14), 'dog': (1, 7, 15, 19),
    'drone': (2, 7, 13, 15), 'electricfan': (1, 10, 18, 20),
    'elephant': (1, 12, 16, 18), 'flag': (2, 3, 5, 9), 'fox': (2, 3, 5, 20),
    'frog': (3, 4, 9, 20), 'gametarget': (1, 2, 7, 13),
    'gecko': (1, 5, 16, 19), 'giraffe': (2, 10, 13, 15),
    'goldfish': (3, 7, 8, 10), 'gorilla': (4, 6, 9, 13),
    'guitar': (3, 8, 10, 16), 'hand': (2, 3, 9, 16), 'hat': (1, 2, 5, 18),
    'helmet': (5, 11, 13, 19), 'hippo': (1, 7, 9, 20),
    'horse': (1, 4, 12, 15), 'kangaroo': (2, 5, 11, 14),
    'kite': (4, 6, 10, 15), 'leopard': (1, 7, 16, 20),
    'licenseplate': (6, 12, 13, 15), 'lion': (1, 5, 12, 20),
    'lizard': (1, 3, 6, 13), 'microphone': (2, 6, 14, 16),
    'monkey': (3, 4, 9, 17), 'motorcycle': (1, 3, 9, 18),
    'mouse': (1, 8, 9, 17), 'person': (1, 5, 10, 12), 'pig': (2, 10, 13, 18),
    'pool': (3, 7, 12, 15), 'rabbit': (10, 13, 17, 19),
    'racing': (10, 15, 16, 20), 'robot': (1, 5, 8, 19),
    'rubicCube': (1, 6, 14, 19), 'sepia': (6, 8, 13, 16),
    'shark': (2, 3, 5, 6), 'sheep': (3, 5, 7, 9),
    'skateboard': (3, 8, 16, 19), 'spider': (14, 16, 18, 20),
    'squirrel': (8, 11, 13, 19), 'surfboard': (4, 5, 8, 12),
    'swing': (10, 14, 17, 20), 'tank': (6, 9, 14, 16),
    'tiger': (4, 6, 12, 18), 'train': (1, 7, 11, 20),
    'truck': (3, 6, 7, 16), 'turtle': (5, 8, 9, 16),
    'umbrella': (2, 9, 17, 19), 'volleyball': (1, 13, 18, 19),
    'yoyo': (7, 15, 17, 19), 'zebra': (10, 14, 16, 17),
}
SEQUENCES_PER_CLASS = 20
SPLITS = ('test', 'train', 'all')


def split_names(split: str) -> list[str]:
  """The sequence names of a split, in class then number order."""
  if split not in SPLITS:
    raise base.EvaluationError(f'unknown LaSOT split {split!r}; choose from'
                               f' {", ".join(SPLITS)}')
  names = []
  for name, test in sorted(TEST_SPLIT.items()):
    for number in range(1, SEQUENCES_PER_CLASS + 1):
      if split == 'all' or (number in test) == (split == 'test'):
        names.append(f'{name}-{number}')
  return names


def class_name(sequence: str) -> str:
  """'airplane-1' -> 'airplane'."""
  return sequence.rsplit('-', 1)[0]


def read_flags(path: pathlib.Path, num_frames: int) -> np.ndarray:
  """A LaSOT flag file (full_occlusion.txt, out_of_view.txt): 0/1 a frame."""
  try:
    text = path.read_text()
  except OSError as e:
    raise sequences.SequenceError(f'{path}: cannot read flags ({e})') from None
  fields = [f for f in re.split(r'[,\s]+', text.strip()) if f]
  try:
    flags = np.array([int(float(f)) for f in fields], np.int64)
  except ValueError:
    raise sequences.SequenceError(f'{path}: expected 0/1 flags') from None
  if flags.shape != (num_frames,):
    raise sequences.SequenceError(
        f'{path}: {flags.size} flags for {num_frames} boxes')
  return flags


def load_sequence(folder) -> base.Entry:
  """One LaSOT sequence folder: frames, boxes and its absence flags.

  Labels: 'full_occlusion', 'out_of_view' and 'absent' (either). Frames
  past the last box are not evaluated, as in the toolkit (monkey-17 has
  more frames than boxes).
  """
  folder = pathlib.Path(folder)
  if not folder.is_dir():
    raise sequences.SequenceError(f'{folder}: no such sequence folder')
  paths = sequences.frame_paths(folder)
  groundtruth = sequences.read_boxes(folder / 'groundtruth.txt')
  if len(paths) < len(groundtruth):
    raise sequences.SequenceError(
        f'{folder / "groundtruth.txt"}: {len(groundtruth)} boxes for'
        f' {len(paths)} frames in {paths[0].parent}')
  paths = paths[:len(groundtruth)]
  labels = {name: read_flags(folder / f'{name}.txt', len(groundtruth))
            for name in ('full_occlusion', 'out_of_view')}
  labels['absent'] = labels['full_occlusion'] | labels['out_of_view']
  sequence = sequences.Sequence(
      name=folder.name, num_frames=len(paths),
      read_frames=lambda: map(sequences.read_image, paths),
      groundtruth=groundtruth, groundtruth_file=folder / 'groundtruth.txt')
  return base.Entry(sequence, labels=labels)


def sequence_folder(root: pathlib.Path, name: str) -> pathlib.Path | None:
  """``<root>/<class>/<name>`` or ``<root>/<name>``, whichever exists."""
  for folder in (root / class_name(name) / name, root / name):
    if (folder / 'groundtruth.txt').is_file():
      return folder
  return None


def _split(config) -> str:
  options = config.get('lasot') if config is not None else None
  return options.get('split', 'test') if options is not None else 'test'


def _scores(result: metrics.ToolkitResult) -> dict:
  return dict(success_auc=result.auc, precision_20px=result.precision,
              normalized_precision=result.normalized_precision,
              normalized_precision_auc=result.normalized_precision_auc)


class Lasot(otb.Otb):
  """LaSOT's class folders, its test split and its toolkit's metrics."""

  name = 'lasot'
  title = 'LaSOT one-pass evaluation'
  definitions = (
      'As the LaSOT toolkit: frames whose target is fully occluded or out'
      ' of view are removed but stay in the denominator (they count as'
      ' failures); a missing or empty box takes the previous frame\'s; the'
      ' first frame is the ground truth. Success AUC: mean over 21 IoU'
      ' thresholds in [0, 1] of the fraction of frames with IoU above them;'
      ' precision: fraction with centre error <= 20 px; normalised'
      ' precision: fraction with the centre error, divided by the'
      ' ground-truth width and height, <= 0.2 (Norm P@0.2) and the mean over'
      ' 51 thresholds in [0, 0.5] (Norm P AUC). Curves are averaged over'
      ' sequences, each weighing the same.')
  overall_columns = (
      ('success_auc', 'Success AUC'), ('precision_20px', 'Precision@20px'),
      ('normalized_precision', 'Norm P@0.2'),
      ('normalized_precision_auc', 'Norm P AUC'))
  sequence_columns = (('success_auc', 'AUC'), ('precision_20px', 'P@20'),
                      ('normalized_precision', 'NP@0.2'))

  def load(self, root, *, names=(), max_frames=None, config=None):
    root = base.existing_folder(root)
    split = _split(config)
    folders = {name: sequence_folder(root, name)
               for name in split_names(split)}
    found = [name for name, folder in folders.items() if folder]
    if not found:
      raise sequences.SequenceError(
          f'{root}: no sequence of the LaSOT {split} split'
          ' (<class>/<class>-<n>/groundtruth.txt) found')
    if len(found) < len(folders) and not names:
      logging.warning('%s: %d of the %d sequences of the LaSOT %s split'
                      ' found', root, len(found), len(folders), split)
    return [load_sequence(folders[name]).truncate(max_frames)
            for name in base.select(found, names, root, name=lambda n: n)]

  def summarize(self, results_dir, tracker, entries, config):
    del config  # The split only chooses the entries.
    rows, scored, by_class, seconds = {}, [], {}, []
    for entry, result in zip(entries,
                             self.results(results_dir, tracker, entries)):
      scored.append(metrics.toolkit_ope(result.boxes, entry.groundtruth,
                                        absent=entry.label('absent')))
      seconds.append(result.seconds)
      by_class.setdefault(class_name(entry.name), []).append(scored[-1])
      rows[entry.name] = dict(frames=entry.num_frames, **_scores(scored[-1]),
                              fps=base.steady_fps(seconds[-1:]))
    average = metrics.average_toolkit_ope(scored)
    overall = dict(
        **_scores(average), fps=base.steady_fps(seconds),
        success_curve=average.success_curve.tolist(),
        precision_curve=average.precision_curve.tolist(),
        normalized_precision_curve=(
            average.normalized_precision_curve.tolist()))
    classes = {name: dict(sequences=len(results),
                          **_scores(metrics.average_toolkit_ope(results)))
               for name, results in by_class.items()}
    return dict(overall=overall, sequences=rows, classes=classes)

  def plots(self, summary, folder, *, dpi, config):
    names = super().plots(summary, folder, dpi=dpi, config=config)
    overall = {n: r['overall'] for n, r in summary['trackers'].items()}
    if overall:
      reports.plot(
          pathlib.Path(folder) / 'normalized_precision_plot.png',
          metrics.NORMALIZED_PRECISION_THRESHOLDS,
          [(f'{n} [{o["normalized_precision_auc"]:.3f}]',
            o['normalized_precision_auc'], o['normalized_precision_curve'])
           for n, o in overall.items()],
          title='Normalized precision plots of OPE on LaSOT',
          xlabel='Normalized location error threshold', ylabel='Precision',
          dpi=dpi)
      names.append('normalized_precision_plot.png')
    return names


BENCHMARK = Lasot()
