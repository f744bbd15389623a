"""Writes the latest checkpoint of a training work dir as a weights file.

  python -m experiments.export_weights \
      --config=siamfc_jax/configs/train_shared.py \
      --workdir=runs/train_shared --out=weights.msgpack

The file (float16) is what --config.checkpoint of the track and evaluate
jobs reads; a finished run writes <workdir>/weights.msgpack by itself.
"""

import sys

from absl import app
from absl import flags
from absl import logging
from ml_collections import config_flags

from siamfc_jax import train_lib

_CONFIG = config_flags.DEFINE_config_file('config', None, 'Train config file.')
_WORKDIR = flags.DEFINE_string('workdir', None, 'Training work dir.')
_OUT = flags.DEFINE_string('out', None, 'Weights file to write.')
flags.mark_flags_as_required(['config', 'workdir', 'out'])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  if not flags.FLAGS['verbosity'].present:
    logging.set_verbosity(logging.WARNING)  # Orbax logs every read at INFO.
  try:
    step = train_lib.export_weights(_CONFIG.value, _WORKDIR.value, _OUT.value)
  except FileNotFoundError as e:
    sys.exit(f'error: {e}')
  print(f'wrote {_OUT.value} from step {step}')


if __name__ == '__main__':
  app.run(main)
