"""Writes the report of an evaluation from its result files.

  python -m experiments.report --results=runs/evaluate/otb

Prints the overall table and the path of report.md (with summary.json and
the plots beside it); see siamfc_jax/configs/evaluate.py.
"""

import sys

from absl import app
from absl import flags

from siamfc_jax import evaluation
from siamfc_jax import reports
from siamfc_jax import sequences

_RESULTS = flags.DEFINE_string(
    'results', None, 'Results folder of experiments.evaluate.')
flags.mark_flag_as_required('results')


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  try:
    summary, path = evaluation.report(_RESULTS.value)
  except (sequences.SequenceError, evaluation.EvaluationError) as e:
    sys.exit(f'error: {e}')
  print(reports.overall_text(summary, path))


def run():
  """Console entry point (siamfc-report)."""
  app.run(main)


if __name__ == '__main__':
  run()
