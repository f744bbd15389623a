"""Writes the report of an evaluation from its result files.

  python -m experiments.report --results=runs/evaluate/otb

Prints the overall table and the path of report.md (with summary.json and
the plots beside it), then, where sequences carry OTB attributes, the path
of attributes.json; see siamfc_jax/configs/evaluate.py.
"""

from absl import flags

from siamfc_jax import cli
from siamfc_jax import evaluation
from siamfc_jax import reports
from siamfc_jax import sequences
from siamfc_jax import xla

_RESULTS = flags.DEFINE_string(
    'results', None, 'Results folder of experiments.evaluate.')
flags.mark_flag_as_required('results')


def main(argv):
  del argv  # cli.run allows none.
  xla.use_fast_cpu_flags()
  summary, path = evaluation.report(_RESULTS.value)
  print(reports.overall_text(summary, path,
                             evaluation.get(summary['benchmark'])))


def run():
  """Console entry point (siamfc-report)."""
  cli.run(main, errors=(sequences.SequenceError, evaluation.EvaluationError))


if __name__ == '__main__':
  run()
