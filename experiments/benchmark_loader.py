"""Measures the training-pair loader's throughput on this machine.

  python -m experiments.benchmark_loader \
      --data_dir=/work/data/shared_sequences_tfds
  # Build the dataset first if --data_dir holds none:
  python -m experiments.benchmark_loader --data_dir=/tmp/shared_tfds \
      --source=sequences --root=../shared/data/sequences

Prints pairs per second for each --workers count, the pairs per second
that the jitted train step consumes on this machine (the paper's network,
batch --batch_size) and their ratio, then one JSON line with every number.
"""

import json
import os

from absl import app
from absl import flags
from ml_collections import config_flags

from data_prep import builders
from data_prep import dataset
from data_prep import pairs
from siamfc_jax import configs
from siamfc_jax import records
from siamfc_jax import train_lib
from siamfc_jax import xla
from siamfc_jax.configs import base

_CONFIG = config_flags.DEFINE_config_file(
    'config', str(configs.DIRECTORY / 'data.py'), 'Data config file.')
_DATA_DIR = flags.DEFINE_string(
    'data_dir', None, 'Built dataset (the --out of data_prep.build).',
    required=True)
_SOURCE = flags.DEFINE_enum(
    'source', None, sorted(builders.SOURCES),
    'With --root: build the dataset into --data_dir first if it is not there.')
_ROOT = flags.DEFINE_string('root', None, 'Root folder of --source.')
_WORKERS = flags.DEFINE_list(
    'workers', ['0', '2'], 'Worker process counts to measure.')
_BATCH_SIZE = flags.DEFINE_integer('batch_size', 8, 'Pairs per batch.')
_STEPS = flags.DEFINE_integer('steps', 50, 'Batches timed.')
_WARMUP_STEPS = flags.DEFINE_integer(
    'warmup_steps', 5, 'Batches taken before timing.')
_TRAIN_STEPS = flags.DEFINE_integer(
    'train_steps', 5, 'Train steps timed for the consumption; 0 skips it.')


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  xla.use_fast_cpu_flags()
  if bool(_SOURCE.value) != bool(_ROOT.value):
    raise app.UsageError('give --source and --root together')
  config = _CONFIG.value
  if _SOURCE.value:
    builders.build(_SOURCE.value, root=_ROOT.value, out=_DATA_DIR.value,
                   config=config.curation)
  crops = sum(dataset.metadata(path)[dataset.SUMMARY]['crops']
              for path in dataset.find(_DATA_DIR.value))
  rates = {}
  for workers in map(int, _WORKERS.value):
    rates[workers] = pairs.pairs_per_second(
        config, data_dir=_DATA_DIR.value, batch_size=_BATCH_SIZE.value,
        steps=_STEPS.value, warmup_steps=_WARMUP_STEPS.value,
        worker_count=workers)
    print(f'{workers} workers: {rates[workers]:.0f} pairs/s')
  consumed = None
  if _TRAIN_STEPS.value:
    train_config = base.train_config()
    train_config.batch_size = _BATCH_SIZE.value
    consumed = train_lib.step_pairs_per_second(train_config,
                                               steps=_TRAIN_STEPS.value)
    print(f'train step consumes: {consumed:.1f} pairs/s; the loader makes'
          f' {min(rates.values()) / consumed:.0f}x that or more')
  print(json.dumps(dict(
      benchmark='pair_loader', data_dir=_DATA_DIR.value, crops=crops,
      batch_size=_BATCH_SIZE.value, steps=_STEPS.value,
      cpu_count=os.cpu_count(), git_revision=records.git_revision(),
      pairs_per_second={str(w): round(r, 1) for w, r in rates.items()},
      train_step_pairs_per_second=consumed and round(consumed, 2))))


if __name__ == '__main__':
  app.run(main)
