"""Writes the latest checkpoint of a training work dir as a weights file.

  python -m experiments.export_weights \
      --config=siamfc_jax/configs/train_shared.py \
      --workdir=runs/train_shared --out=weights.msgpack

The file (float16) is what --config.checkpoint of the track and evaluate
jobs reads; a finished run writes <workdir>/weights.msgpack by itself.
It takes the multi-process flags of experiments.train (process 0 writes).
"""

import pathlib

from absl import flags

from siamfc_jax import cli
from siamfc_jax import distributed
from siamfc_jax import files
from siamfc_jax import train_lib
from siamfc_jax import validation
from siamfc_jax import xla

_CONFIG = cli.define_config('config', None, 'Train config file.')
_WORKDIR = flags.DEFINE_string('workdir', None, 'Training work dir.')
_OUT = flags.DEFINE_string('out', None, 'Weights file to write.')
flags.mark_flags_as_required(['config', 'workdir', 'out'])
_DISTRIBUTED = distributed.define_flags()


def main(argv):
  del argv  # cli.run allows none.
  xla.use_fast_cpu_flags()
  distributed.initialize(_DISTRIBUTED())
  validation.check_train(_CONFIG.value)
  # Orbax would make an empty checkpoints/ folder in any path given.
  if not (pathlib.Path(_WORKDIR.value) / 'checkpoints').is_dir():
    raise FileNotFoundError(f'--workdir={_WORKDIR.value}: no checkpoints/'
                            ' folder, so not a training work dir')
  files.check_folder(pathlib.Path(_OUT.value).parent, what='--out')
  step = train_lib.export_weights(_CONFIG.value, _WORKDIR.value, _OUT.value)
  if distributed.is_main_process():
    print(f'wrote {_OUT.value} from step {step}')


@distributed.leaves_at_once_on_error
def run():
  cli.run(main, errors=(FileNotFoundError, distributed.DistributedError))


if __name__ == '__main__':
  run()
