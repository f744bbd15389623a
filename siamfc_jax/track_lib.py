"""Tracking one sequence end to end: weights, tracker, results, metrics."""

import csv
import io

import ml_collections
import tqdm

from siamfc_jax import weights
from siamfc_jax import files
from siamfc_jax import metrics
from siamfc_jax import records
from siamfc_jax import render
from siamfc_jax import sequences
from siamfc_jax import tracker as tracker_lib
from siamfc_jax.evaluation import ope


class Stop:
  """A request to end tracking after the current frame (e.g. on Ctrl-C).

  ``request()`` is refused (returns False) until the first frame has been
  tracked, while there is nothing to save and the tracker compiles.
  """

  def __init__(self):
    self.tracking = False
    self.requested = False

  def request(self) -> bool:
    self.requested = self.tracking
    return self.requested

  def until(self, frames):
    """``frames``, ending before the next one once a stop is requested."""
    frames = iter(frames)
    self.tracking = False
    while not self.requested:
      try:
        frame = next(frames)
      except StopIteration:
        return
      except Exception:  # pylint: disable=broad-except
        # A source killed by the same Ctrl-C (FFmpeg, in the job's process
        # group) fails as the stop is requested.
        if self.requested:
          return
        raise
      yield frame
      self.tracking = True


def track_sequence(config: ml_collections.ConfigDict,
                   sequence: sequences.Sequence, *,
                   output_dir,
                   init_box=None,
                   render_path=None,
                   show_progress: bool = True,
                   stop: Stop | None = None) -> dict:
  """Tracks ``sequence`` and writes its results to ``output_dir``.

  Writes ``<name>.txt`` (boxes, OTB format), ``<name>.csv`` (per frame:
  box, peak score, seconds) and ``<name>.json`` (config, git revision,
  frames per second, whether the run was interrupted and, with ground
  truth, OPE success AUC and precision at 20 px); with ``render_path``, also
  a video with the boxes drawn. ``output_dir`` is checked before tracking.

  Args:
    config: a track config (see siamfc_jax/configs/track_3s.py).
    sequence: the frames and optional ground truth.
    output_dir: folder for the result files.
    init_box: 1-based (x, y, w, h) in the first frame; defaults to the
      first ground-truth box.
    render_path: optional .mp4 or .gif to write.
    show_progress: show a progress bar.
    stop: once its stop is requested, tracking ends after the current
      frame; the frames tracked are written, evaluated on the ground truth
      of those frames, and recorded with ``"interrupted": true``.

  Returns:
    The record written to ``<name>.json``.
  """
  if init_box is None:
    if sequence.groundtruth is None:
      raise sequences.SequenceError(
          f'{sequence.name}: no ground truth, so an initial box is needed')
    init_box = sequence.groundtruth[0]
  output_dir = files.check_folder(output_dir, what='output_dir')
  tracker = tracker_lib.Tracker(weights.load_for_tracking(config), config)
  total = sequence.num_frames - 1 if sequence.num_frames else None
  progress = lambda frames: tqdm.tqdm(  # noqa: E731
      frames, total=total, desc=sequence.name, unit='frame',
      disable=not show_progress)
  with render.drawn_as_tracked(render_path, tracker, sequence,
                               groundtruth=sequence.groundtruth) as (
                                   tracker, frames):
    result = tracker_lib.run(tracker, frames, init_box, progress=progress,
                             stop=stop, interruptible=True)
  interrupted = bool(stop and stop.requested)

  # The first update compiles the step; steady-state speed leaves it out.
  steady = result.seconds[2:]
  summary = dict(
      sequence=sequence.name,
      frames=len(result.boxes),
      weights=weights.describe(config),
      fps=float(len(steady) / steady.sum()) if steady.size else None,
      fps_with_compile=float(len(result.seconds) / result.seconds.sum()),
      interrupted=interrupted,
  )
  groundtruth, mismatch = sequence.groundtruth, None
  if groundtruth is not None:
    if interrupted:
      groundtruth = groundtruth[:len(result.boxes)]
    if len(groundtruth) != len(result.boxes):
      # A box file that does not fit the video (its length is known only
      # now): the boxes tracked are still written, without metrics.
      mismatch = sequences.SequenceError(
          f'{sequence.name}: {len(groundtruth)} ground-truth boxes'
          f' for {len(result.boxes)} frames; the boxes tracked are in'
          f' {output_dir}, without metrics')
      groundtruth = None
    else:
      one_pass = metrics.ope(result.boxes, groundtruth)
      summary.update(success_auc=one_pass.auc,
                     precision_20px=one_pass.precision)

  sequences.write_boxes(output_dir / f'{sequence.name}.txt', result.boxes)
  write_frames_csv(output_dir / f'{sequence.name}.csv', result)
  record = records.run_record(config, **summary)
  records.write_json(output_dir / f'{sequence.name}.json', record)
  if mismatch:
    raise mismatch
  return record


def write_frames_csv(path, result: tracker_lib.TrackResult) -> None:
  """Per-frame results: frame (1-based), x, y, w, h, score, seconds."""
  text = io.StringIO()
  writer = csv.writer(text, lineterminator='\n')
  writer.writerow(['frame', 'x', 'y', 'w', 'h', 'score', 'seconds'])
  for i, (box, score, seconds) in enumerate(
      zip(result.boxes, result.scores, result.seconds), start=1):
    writer.writerow([i, *(f'{v:.2f}' for v in box), f'{score:.6g}',
                     f'{seconds:.5f}'])
  files.write_text(path, text.getvalue())


def validate(variables, config: ml_collections.ConfigDict,
             sequence_list, *, show_progress: bool = False) -> dict:
  """OTB OPE of ``variables`` on sequences with ground truth.

  The OTB benchmark's run and summary (siamfc_jax.evaluation.ope), without
  result files.

  Returns:
    {'success_auc', 'precision_20px'} averaged over sequences (as the OTB
    toolkit averages its curves), and 'sequences': the per-sequence values.
  """
  progress = lambda s: tqdm.tqdm(s, desc='validate',  # noqa: E731
                                 disable=not show_progress)
  summary = ope.run_and_summarize(tracker_lib.Tracker(variables, config),
                                  sequence_list, progress=progress)
  overall = summary['overall']
  return dict(
      success_auc=overall['success_auc'],
      precision_20px=overall['precision_20px'],
      sequences={name: dict(success_auc=row['success_auc'],
                            precision_20px=row['precision_20px'])
                 for name, row in summary['sequences'].items()})
