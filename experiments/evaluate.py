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

import sys

from absl import app
from absl import flags
from ml_collections import config_flags

from siamfc_jax import boxes
from siamfc_jax import checkpoints
from siamfc_jax import configs
from siamfc_jax import evaluation
from siamfc_jax import reports
from siamfc_jax import sequences

_CONFIG = config_flags.DEFINE_config_file(
    'config', str(configs.DIRECTORY / 'evaluate.py'),
    'Evaluation config file.')
_BENCHMARK = flags.DEFINE_enum(
    'benchmark', None, evaluation.BENCHMARKS, 'Sets config.benchmark.')
_ROOT = flags.DEFINE_string('root', None, 'Sets config.root.')
_RESULTS = flags.DEFINE_string('results', None, 'Sets config.results_dir.')


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  config = _CONFIG.value
  for field, flag in (('benchmark', _BENCHMARK), ('root', _ROOT),
                      ('results_dir', _RESULTS)):
    if flag.value is not None:
      config[field] = flag.value
  try:
    summary, path = evaluation.evaluate(config)
  except (sequences.SequenceError, boxes.BoxError, checkpoints.WeightsError,
          evaluation.EvaluationError) as e:
    sys.exit(f'error: {e}')
  print(reports.overall_text(summary, path))


def run():
  """Console entry point (siamfc-evaluate)."""
  app.run(main)


if __name__ == '__main__':
  run()
