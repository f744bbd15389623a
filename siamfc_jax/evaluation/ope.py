"""One-pass evaluation (OPE): the run and the OTB-style summary.

Every one-pass benchmark (OTB, GOT-10k, LaSOT, ...) and training
validation (``siamfc_jax.track_lib.validate``) run trackers through
``run``; the OTB benchmark and validation average the OTB curves with
``summarize``, so a validation number and the OTB benchmark's number are
the same computation.
"""

from typing import Iterable, Mapping, NamedTuple

import numpy as np

from siamfc_jax import metrics
from siamfc_jax import sequences
from siamfc_jax import tracker as tracker_lib
from siamfc_jax.evaluation import base


def run(tracker, sequence: sequences.Sequence, init_box=None, *,
        progress=None) -> tracker_lib.TrackResult:
  """One pass: ``init`` on the first frame, ``update`` on every other.

  The one host loop (``siamfc_jax.tracker.run``): frame reading is not
  timed, each frame's seconds include the tracker's device work.

  Args:
    tracker: anything with ``init(image, box)`` and ``update(image)``.
    sequence: the frames.
    init_box: the 1-based (x, y, w, h) target in the first frame; default
      the first ground-truth box.
    progress: optionally wraps the frame iterator (e.g. tqdm).
  """
  if init_box is None:
    init_box = sequence.groundtruth[0]
  return tracker_lib.run(tracker, sequence, init_box, progress=progress)


class Sequence(NamedTuple):
  """One sequence's results, as ``summarize`` takes them."""

  name: str
  boxes: np.ndarray  # (N, 4) tracked.
  groundtruth: np.ndarray  # (N, 4); NaN rows are left out.
  seconds: np.ndarray | None = None  # Per frame, for 'fps'.


def summarize(results: Iterable[Sequence]) -> dict:
  """Success AUC and precision at 20 px, per sequence and averaged.

  The overall numbers are those of the curves averaged over sequences, as
  the OTB toolkit averages them (``metrics.ope``: frames without a valid
  ground-truth box are left out). Benchmarks whose toolkits count frames
  otherwise, or add the normalised precision (LaSOT, TrackingNet), use
  ``metrics.toolkit_*``.

  Returns:
    {'overall': {'success_auc', 'precision_20px', 'fps' (given seconds),
    'success_curve', 'precision_curve'}, 'sequences': {name: {'frames',
    'success_auc', 'precision_20px'[, 'fps']}}}.
  """
  per_sequence, scored, seconds = {}, [], []
  for result in results:
    scored.append(metrics.ope(result.boxes, result.groundtruth))
    row = dict(frames=len(result.groundtruth), success_auc=scored[-1].auc,
               precision_20px=scored[-1].precision)
    if result.seconds is not None:
      seconds.append(np.asarray(result.seconds))
      row['fps'] = base.steady_fps(seconds[-1:])
    per_sequence[result.name] = row
  overall = _averaged(scored)
  if seconds:
    overall['fps'] = base.steady_fps(seconds)
  return dict(overall=overall, sequences=per_sequence)


def _averaged(scored) -> dict:
  """The overall numbers and curves of sequences scored by metrics.ope."""
  average = metrics.average_ope(scored)
  return dict(success_auc=average.auc, precision_20px=average.precision,
              success_curve=average.success_curve.tolist(),
              precision_curve=average.precision_curve.tolist())


def summarize_attributes(results, attributes: Mapping[str, Iterable[str]],
                         names: Mapping[str, str]) -> dict:
  """The OTB summary of each attribute's sequences, as the OTB toolkit's.

  The toolkit's attribute plots (perfPlot.m) average the curves of the
  sequences having the attribute exactly as its overall plot averages
  every sequence's, so each attribute's numbers are ``summarize`` of that
  subset. (The toolkit's plotDrawSave.m also drops a sequence whose curve
  is zero everywhere, which never happens when the first box is the
  ground truth's; it is kept here, as in the overall numbers.)

  Args:
    results: every sequence's results (``Sequence``).
    attributes: sequence name -> its attribute tags; sequences left out
      have none.
    names: tag -> attribute name, in the order to report them.

  Returns:
    {tag: {'name', 'sequences' (names, in the results' order),
    'success_auc', 'precision_20px', 'success_curve', 'precision_curve'}}
    for the tags at least one sequence has.
  """
  # Each sequence is scored once, whatever the number of its attributes.
  scored = {r.name: metrics.ope(r.boxes, r.groundtruth) for r in results}
  summaries = {}
  for tag, name in names.items():
    subset = [n for n in scored if tag in attributes.get(n, ())]
    if subset:
      summaries[tag] = dict(name=name, sequences=subset,
                            **_averaged([scored[n] for n in subset]))
  return summaries


def definitions(counting: str, *, before: str = '') -> str:
  """The report's definitions of OTB success AUC and precision at 20 px.

  One wording for every one-pass benchmark scored with the OTB curves; only
  how frames count, and what comes first, differ.

  Args:
    counting: how frames without a valid ground-truth box count (and
      whose rule that is).
    before: sentences said first (which frames or annotations are used).
  """
  return (f'{before}Success AUC: mean over sequences of the success curve'
          ' (fraction of frames with IoU > t, 21 thresholds t in [0, 1]),'
          ' averaged over t; precision: fraction of frames with centre error'
          f' <= 20 px, averaged over sequences; {counting}.')


# How ``summarize`` (``metrics.ope``) counts frames, for ``definitions``.
LEFT_OUT = 'frames without a valid ground-truth box left out'


def run_and_summarize(tracker, sequence_list, *, progress=None) -> dict:
  """Runs ``tracker`` on sequences with ground truth and summarises them.

  This is training validation (``siamfc_jax.track_lib.validate``): the
  same run and summary as an OTB benchmark, without result files.

  Args:
    tracker: anything with ``init(image, box)`` and ``update(image)``.
    sequence_list: sequences with ground truth.
    progress: optionally wraps the sequence iterator (e.g. tqdm).

  Returns:
    What ``summarize`` returns.
  """
  results = []
  for sequence in (progress(sequence_list) if progress else sequence_list):
    result = run(tracker, sequence)
    results.append(Sequence(sequence.name, result.boxes,
                            sequence.groundtruth, result.seconds))
  return summarize(results)

