"""Builds a TFDS dataset of SiamFC training crops from one source layout.

  python -m data_prep.build --source=sequences \
      --root=../shared/data/sequences --out=/tmp/shared_sequences_tfds
  python -m data_prep.build --source=vid --root=/data/ILSVRC2015 \
      --out=/data/tfds --workers=8
  python -m data_prep.build --source=got10k --root=/data/GOT-10k \
      --out=/data/tfds

Shows a progress bar, then prints the dataset folder, the videos, tracks and
crops stored, and what was skipped and why. A killed build re-run with the
same command carries on where it stopped; re-running a complete build only
prints its summary.
"""

import pathlib
import sys

from absl import app
from absl import flags
from ml_collections import config_flags

from data_prep import builders
from data_prep import curate
from data_prep import dataset

_CONFIGS = (pathlib.Path(__file__).resolve().parent.parent / 'siamfc_jax'
            / 'configs')

_CONFIG = config_flags.DEFINE_config_file(
    'config', str(_CONFIGS / 'data.py'), 'Data config file.')
_SOURCE = flags.DEFINE_enum(
    'source', None, sorted(builders.SOURCES), 'Layout of --root.')
_ROOT = flags.DEFINE_string('root', None, 'Root folder of the source.')
_OUT = flags.DEFINE_string(
    'out', None, 'Data folder; the dataset goes to <out>/<name>/<version>.')
_WORKERS = flags.DEFINE_integer(
    'workers', 1, 'Processes cropping videos in parallel.')
flags.mark_flags_as_required(['source', 'root', 'out'])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  try:
    path, summary = builders.build(
        _SOURCE.value, root=_ROOT.value, out=_OUT.value,
        config=_CONFIG.value.curation, workers=_WORKERS.value)
  except (curate.SourceError, dataset.DatasetError) as e:
    sys.exit(f'error: {e}')
  print(builders.format_summary(path, summary))


def run():
  """Console entry point (siamfc-build-data)."""
  app.run(main)


if __name__ == '__main__':
  run()
