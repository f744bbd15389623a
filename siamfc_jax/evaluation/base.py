"""What every benchmark shares: entries, result files and the interface.

A benchmark module defines ``BENCHMARK``, one instance of a ``Benchmark``
subclass, which says how to read its sequences, where its result files go,
how to summarise them and how the report shows the numbers. The runner
(``runner.py``) and the reports (``siamfc_jax.reports``) use only this
interface, so a new benchmark is one module and one line in the registry
(``evaluation/__init__.py``).
"""

import dataclasses
import pathlib
from typing import Mapping

import ml_collections
import numpy as np

from siamfc_jax import files
from siamfc_jax import reports
from siamfc_jax import sequences


class EvaluationError(ValueError):
  """A benchmark, tracker or results folder that cannot be evaluated."""


@dataclasses.dataclass(frozen=True)
class Entry:
  """A benchmark sequence and the labels its metrics need.

  ``sequence.groundtruth`` is (N, 4), NaN where unknown (the GOT-10k test
  split gives only the first box). ``labels`` holds per-frame arrays whose
  first axis is the frame: masks such as GOT-10k's 'cover' and 'absence',
  LaSOT's 'full_occlusion' and 'out_of_view', an 'absent' flag, or VOT's
  'polygons' ((N, K, 2) ground-truth corners). ``attributes`` are
  OTB-style tags of the whole sequence (e.g. 'OCC', 'SV').
  """

  sequence: sequences.Sequence
  labels: Mapping[str, np.ndarray] = dataclasses.field(default_factory=dict)
  attributes: tuple[str, ...] = ()
  resolution: tuple[int, int] | None = None  # (width, height), if given.

  @property
  def name(self) -> str:
    return self.sequence.name

  @property
  def num_frames(self) -> int:
    return self.sequence.num_frames

  @property
  def groundtruth(self) -> np.ndarray:
    return self.sequence.groundtruth

  def label(self, key: str) -> np.ndarray | None:
    """The per-frame label ``key``, or None where the benchmark has none."""
    return self.labels.get(key)

  def frame_size(self) -> tuple[int, int]:
    """(width, height): the given resolution, else the first frame's."""
    if self.resolution:
      return self.resolution
    height, width = next(iter(self.sequence)).shape[:2]
    return width, height

  def truncate(self, max_frames: int | None) -> 'Entry':
    """The first ``max_frames`` frames, with their labels (all if None)."""
    if max_frames is None:
      return self
    return dataclasses.replace(
        self, sequence=sequences.truncate(self.sequence, max_frames),
        labels={k: v[:max_frames] for k, v in self.labels.items()})


def select(items, names, root, *, name=lambda entry: entry.name) -> list:
  """The items called ``names`` (all if empty), in their order.

  Raises:
    SequenceError: naming ``root`` and the names it does not hold.
  """
  items = list(items)
  if not names:
    return items
  unknown = sorted(set(names) - {name(item) for item in items})
  if unknown:
    raise sequences.SequenceError(f'{root}: no sequence {", ".join(unknown)}')
  return [item for item in items if name(item) in names]


def existing_folder(root) -> pathlib.Path:
  """``root`` as a path; a SequenceError if it is not a folder."""
  root = pathlib.Path(root)
  if not root.is_dir():
    raise sequences.SequenceError(f'{root}: no such folder')
  return root


def sequence_folders(root) -> list[pathlib.Path]:
  """The sequence folders (img/ or a ground-truth file) of ``root``, sorted."""
  root = existing_folder(root)
  folders = sorted(
      p for p in root.iterdir() if p.is_dir() and (
          (p / 'img').is_dir()
          or any((p / n).is_file() for n in sequences.GROUNDTRUTH_NAMES)))
  if not folders:
    raise sequences.SequenceError(f'{root}: no sequence folders (img/ and'
                                  ' groundtruth.txt) found')
  return folders


# Result files.


def write_seconds(path, seconds) -> None:
  """Seconds per frame, one a line, written atomically."""
  files.write_text(path, ''.join(f'{s:.8f}\n' for s in seconds))


def read_seconds(path) -> np.ndarray:
  return np.loadtxt(path, ndmin=1)


def count_lines(path) -> int:
  """Non-empty lines of a result file (one per frame when complete)."""
  return len(pathlib.Path(path).read_text().split())


def steady_fps(seconds_list) -> float:
  """Frames per second, leaving out each sequence's first two frames.

  The first frame is the initialisation and the second may include
  compilation (SiamFC); frames with no time (skipped) are left out.
  """
  steady = np.concatenate([np.asarray(s)[2:] for s in seconds_list])
  steady = steady[steady > 0]
  return float(steady.size / steady.sum()) if steady.size else float('nan')


# The interface.


class Benchmark:
  """One benchmark: its sequences, result files, metrics and report.

  The defaults are those of a one-pass (OPE) benchmark in the OTB layout;
  a subclass sets the class attributes and overrides what differs.

  Attributes:
    name: the name used in configs ('otb', 'got10k', 'vot', ...).
    title: the report's title.
    protocol: 'ope' (one pass, ``tracker.TrackResult``) or 'reset' (the
      reset-based run of ``vot.run_reset``).
    definitions: one paragraph for the report saying how the metrics are
      defined; formatted with the config (``str.format_map``, so e.g.
      ``{vot.skip_frames}`` is the config's value; write literal braces
      twice).
    overall_columns: (summary key, table header) of the overall table; an
      FPS column follows.
    sequence_columns: (summary key, header) shown per sequence, joined in
      one cell per tracker.
  """

  name: str = ''
  title: str = ''
  protocol: str = 'ope'
  definitions: str = ''
  overall_columns: tuple[tuple[str, str], ...] = (
      ('success_auc', 'Success AUC'), ('precision_20px', 'Precision@20px'))
  sequence_columns: tuple[tuple[str, str], ...] = (
      ('success_auc', 'AUC'), ('precision_20px', 'P@20'))

  def load(self, root, *, names=(), max_frames: int | None = None,
           config: ml_collections.ConfigDict | None = None) -> list[Entry]:
    """The entries of the benchmark folder ``root``, in its order.

    Args:
      root: the benchmark (or split) folder.
      names: sequence names to keep (all if empty).
      max_frames: keep only the first frames of each sequence.
      config: the evaluation config, for benchmarks with options.
    """
    raise NotImplementedError

  def result_paths(self, results_dir, tracker: str,
                   name: str) -> tuple[pathlib.Path, pathlib.Path]:
    """(box file, seconds file) of one tracker on one sequence."""
    base = pathlib.Path(results_dir) / tracker
    return base / f'{name}.txt', base / 'times' / f'{name}_time.txt'

  def write(self, results_dir, tracker: str, entry: Entry, result) -> None:
    """Writes the seconds, then the boxes: a box file means complete."""
    boxes_path, seconds_path = self.result_paths(results_dir, tracker,
                                                 entry.name)
    write_seconds(seconds_path, result.seconds)
    sequences.write_boxes(boxes_path, result.boxes)

  def is_complete(self, results_dir, tracker: str, entry: Entry) -> bool:
    """True if the tracker's files for ``entry`` cover every frame."""
    boxes_path, seconds_path = self.result_paths(results_dir, tracker,
                                                 entry.name)
    if not (boxes_path.is_file() and seconds_path.is_file()):
      return False
    return count_lines(boxes_path) == entry.num_frames

  def summarize(self, results_dir, tracker: str, entries,
                config: ml_collections.ConfigDict) -> dict:
    """{'overall': {numbers, curves}, 'sequences': {name: {numbers}}}.

    Every row has 'frames'; 'overall' has 'fps' (``steady_fps``).
    """
    raise NotImplementedError

  def plots(self, summary: dict, folder, *, dpi: int,
            config: ml_collections.ConfigDict) -> list[str]:
    """Writes the report's plots into ``folder``; returns their file names.

    The default draws OTB-style success and precision plots from each
    tracker's overall 'success_curve' and 'precision_curve'.
    """
    del config  # Unused by the OTB-style plots.
    return reports.ope_plots(summary, folder, dpi=dpi)

  def finish(self, results_dir, summary: dict) -> None:
    """Called after the summary is written (e.g. to zip submissions)."""
    del results_dir, summary
