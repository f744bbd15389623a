"""OTB: one-pass evaluation of sequence folders.

Results: ``<tracker>/<seq>.txt``, one x,y,w,h per frame (the OTB text
format), and ``<tracker>/times/<seq>_time.txt``, seconds per frame.
"""

from siamfc_jax import sequences
from siamfc_jax.evaluation import base
from siamfc_jax.evaluation import ope


def load_folders(root, *, names=(),
                 max_frames: int | None = None) -> list[base.Entry]:
  """The sequence folders of ``root`` with ground truth, sorted by name.

  Every frame's header is opened before tracking starts
  (``sequences.check_frames``), so a bad file is reported at once.
  """
  folders = base.select(base.sequence_folders(root), names, root,
                        name=lambda folder: folder.name)
  entries = []
  for folder in folders:
    sequence = sequences.load_folder(folder, check=True)
    if sequence.groundtruth is None:
      raise sequences.SequenceError(f'{folder}: no ground truth')
    entries.append(base.Entry(sequence).truncate(max_frames))
  return entries


class Otb(base.Benchmark):
  """A folder of sequence folders (img/ and groundtruth.txt)."""

  name = 'otb'
  title = 'OTB one-pass evaluation (OPE)'
  definitions = (
      'Success AUC: mean over sequences of the success curve (fraction of'
      ' frames with IoU > t, 21 thresholds t in [0, 1]), averaged over t;'
      ' precision: fraction of frames with centre error <= 20 px, averaged'
      ' over sequences (the OTB toolkit).')

  def load(self, root, *, names=(), max_frames=None, config=None):
    del config  # No options.
    return load_folders(root, names=names, max_frames=max_frames)

  def summarize(self, results_dir, tracker, entries, config):
    del config  # No options.
    return ope.summarize(self.results(results_dir, tracker, entries))

  def results(self, results_dir, tracker, entries) -> list[ope.Sequence]:
    """The tracker's boxes and seconds of ``entries``, for ope.summarize."""
    results = []
    for entry in entries:
      boxes_path, seconds_path = self.result_paths(results_dir, tracker,
                                                   entry.name)
      results.append(ope.Sequence(
          entry.name, sequences.read_boxes(boxes_path), entry.groundtruth,
          base.read_seconds(seconds_path)))
    return results


BENCHMARK = Otb()

