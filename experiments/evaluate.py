"""Evaluates SiamFC and the baselines on a benchmark folder.

  python -m experiments.evaluate --benchmark=otb \
      --root=../shared/data/sequences --results=runs/evaluate/otb
  python -m experiments.evaluate --benchmark=got10k --root=GOT-10k/val \
      --results=runs/evaluate/got10k_val --config.batch_size=8
  python -m experiments.evaluate --benchmark=vot --root=vot2018 \
      --results=runs/evaluate/vot2018 --config.trackers="('siamfc','ncc')"

Prints the overall table and the path of the report (see
siamfc_jax/configs/evaluate.py); re-running resumes an interrupted run.
"""

from absl import flags

from siamfc_jax import boxes
from siamfc_jax import weights
from siamfc_jax import cli
from siamfc_jax import configs
from siamfc_jax import evaluation
from siamfc_jax import files
from siamfc_jax import reports
from siamfc_jax import sequences
from siamfc_jax import validation
from siamfc_jax import xla

_CONFIG = cli.define_config(
    'config', str(configs.DIRECTORY / 'evaluate.py'),
    'Evaluation config file.')
_BENCHMARK = flags.DEFINE_enum(
    'benchmark', None, tuple(evaluation.BENCHMARKS),
    'Sets config.benchmark.')
_ROOT = flags.DEFINE_string('root', None, 'Sets config.root.')
_RESULTS = flags.DEFINE_string('results', None, 'Sets config.results_dir.')


def main(argv):
  del argv  # cli.run allows none.
  xla.use_fast_cpu_flags()
  config = _CONFIG.value
  for field, flag in (('benchmark', _BENCHMARK), ('root', _ROOT),
                      ('results_dir', _RESULTS)):
    if flag.value is not None:
      config[field] = flag.value
  validation.check_evaluate(config)
  files.check_folder(config.results_dir, what='--results' if _RESULTS.value
                     else 'config.results_dir')
  summary, path = evaluation.evaluate(config)
  print(reports.overall_text(summary, path,
                             evaluation.get(summary['benchmark'])))


def run():
  """Console entry point (siamfc-evaluate)."""
  cli.run(main, errors=(sequences.SequenceError, boxes.BoxError,
                        weights.WeightsError, evaluation.EvaluationError),
          interrupted='; the result files of the sequences done are kept:'
          ' the same command tracks only the others')


if __name__ == '__main__':
  run()
