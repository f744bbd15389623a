"""Trains SiamFC; rerunning the same command resumes from the workdir.

  python -m experiments.train --config=siamfc_jax/configs/train_shared.py \
      --workdir=runs/train_shared

Several processes (hosts) train as one job with --coordinator_address,
--num_processes and --process_id, or under srun / mpirun without them
(siamfc_jax/distributed.py).
"""

import sys

import jax
from absl import flags

from data_prep import dataset
from data_prep import pairs
from siamfc_jax import cli
from siamfc_jax import distributed
from siamfc_jax import files
from siamfc_jax import sequences
from siamfc_jax import train_lib
from siamfc_jax import validation
from siamfc_jax import xla

_CONFIG = cli.define_config('config', None, 'Train config file.')
_WORKDIR = flags.DEFINE_string('workdir', None, 'Checkpoints, logs, weights.')
flags.mark_flags_as_required(['config', 'workdir'])
_DISTRIBUTED = distributed.define_flags()


def main(argv):
  del argv  # cli.run allows none.
  xla.use_fast_cpu_flags()
  distributed.initialize(_DISTRIBUTED())
  config = _CONFIG.value
  validation.check_train(config, device_count=jax.device_count())
  files.check_folder(_WORKDIR.value, what='--workdir')
  stop = train_lib.Stop()
  # The first Ctrl-C ends training after the current step with a
  # checkpoint of it, so that no step is lost; a second one quits at once.
  with cli.on_ctrl_c(stop.request,
                     message='stopping after this step, with a checkpoint'):
    record = train_lib.train_and_evaluate(
        config, _WORKDIR.value, pairs.training_batches(config), stop=stop)
  if stop.requested:
    print('interrupted; the same command resumes from this step',
          file=sys.stderr)
    sys.exit(cli.INTERRUPTED)
  if record and distributed.is_main_process():
    print(f'validation: success AUC {record["success_auc"]:.3f},'
          f' precision@20px {record["precision_20px"]:.3f}')


@distributed.leaves_at_once_on_error
def run():
  """Console entry point (siamfc-train)."""
  cli.run(main, errors=(dataset.DatasetError, sequences.SequenceError,
                        FloatingPointError, distributed.DistributedError),
          interrupted='; the same command resumes from the last checkpoint'
          ' in --workdir')


if __name__ == '__main__':
  run()
