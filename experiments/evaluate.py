"""Evaluates SiamFC and the baselines on a benchmark folder.

  python -m experiments.evaluate --benchmark=otb \
      --root=../shared/data/sequences --results=runs/evaluate/otb
  python -m experiments.evaluate --benchmark=got10k --root=GOT-10k/val \
      --results=runs/evaluate/got10k_val --config.batch_size=8
  python -m experiments.evaluate --benchmark=vot --root=vot2018 \
      --results=runs/evaluate/vot2018 --config.trackers="('siamfc','ncc')"

Prints the overall table and the path of the report (see
siamfc_jax/configs/evaluate.py); re-running resumes an interrupted run.

Several processes (hosts, GPUs) evaluate as one job with
--coordinator_address, --num_processes and --process_id, or under srun /
mpirun without them (siamfc_jax/distributed.py): process i tracks shard i
of the sequences into the same results folder, and process 0 writes the
report once all are done.
"""

import sys

import jax
from absl import flags

from siamfc_jax import boxes
from siamfc_jax import weights
from siamfc_jax import cli
from siamfc_jax import configs
from siamfc_jax import distributed
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
_DISTRIBUTED = distributed.define_flags()
_REPORT_WAIT = flags.DEFINE_integer(
    'report_wait', 7 * 24 * 3600,
    'Several processes: seconds each waits, its shard done, for the others'
    ' to finish theirs; then process 0 writes the report.', lower_bound=1)


def main(argv):
  del argv  # cli.run allows none.
  xla.use_fast_cpu_flags()
  joined = distributed.initialize(_DISTRIBUTED())
  config = _CONFIG.value
  for field, flag in (('benchmark', _BENCHMARK), ('root', _ROOT),
                      ('results_dir', _RESULTS)):
    if flag.value is not None:
      config[field] = flag.value
  process = (jax.process_index(), jax.process_count()) if joined else (0, 1)
  validation.check_evaluate(config, process=process)
  files.check_folder(config.results_dir, what='--results' if _RESULTS.value
                     else 'config.results_dir')
  if process[1] == 1:
    summary, path = evaluation.evaluate(config)
  else:
    config.shard_index, config.shard_count = process
    evaluation.track(config)
    distributed.wait_for_all('evaluate: every shard tracked',
                             _REPORT_WAIT.value)
    if not distributed.is_main_process():
      print(f'shard {process[0]} of {process[1]} done; process 0 writes the'
            ' report', file=sys.stderr)
      return
    summary, path = evaluation.report(config.results_dir)
  print(reports.overall_text(summary, path,
                             evaluation.get(summary['benchmark'])))


@distributed.leaves_at_once_on_error
def run():
  """Console entry point (siamfc-evaluate)."""
  cli.run(main, errors=(sequences.SequenceError, boxes.BoxError,
                        weights.WeightsError, evaluation.EvaluationError,
                        distributed.DistributedError),
          interrupted='; the result files of the sequences done are kept:'
          ' the same command tracks only the others')


if __name__ == '__main__':
  run()
