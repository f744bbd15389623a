"""Trains SiamFC; rerunning the same command resumes from the workdir.

  python -m experiments.train --config=siamfc_jax/configs/train_shared.py \
      --workdir=runs/train_shared
"""

import sys

from absl import app
from absl import flags
from absl import logging
from ml_collections import config_flags

from data_prep import dataset
from siamfc_jax import sequences
from siamfc_jax import train_lib

_CONFIG = config_flags.DEFINE_config_file('config', None, 'Train config file.')
_WORKDIR = flags.DEFINE_string('workdir', None, 'Checkpoints, logs, weights.')
flags.mark_flags_as_required(['config', 'workdir'])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  if not flags.FLAGS['verbosity'].present:
    logging.set_verbosity(logging.WARNING)  # Orbax logs every save at INFO.
  try:
    record = train_lib.train_and_evaluate(_CONFIG.value, _WORKDIR.value)
  except (dataset.DatasetError, sequences.SequenceError,
          FloatingPointError) as e:
    sys.exit(f'error: {e}')
  if record:
    print(f'validation: success AUC {record["success_auc"]:.3f},'
          f' precision@20px {record["precision_20px"]:.3f}')


def run():
  """Console entry point (siamfc-train)."""
  app.run(main)


if __name__ == '__main__':
  run()
