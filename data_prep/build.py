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

from absl import flags

from data_prep import builders
from data_prep import curate
from data_prep import dataset
from siamfc_jax import cli
from siamfc_jax import files
from siamfc_jax import validation
from siamfc_jax import xla

_CONFIGS = (pathlib.Path(__file__).resolve().parent.parent / 'siamfc_jax'
            / 'configs')

_CONFIG = cli.define_config(
    'config', str(_CONFIGS / 'data.py'), 'Data config file.')
_SOURCE = flags.DEFINE_enum(
    'source', None, sorted(builders.SOURCES), 'Layout of --root.')
_ROOT = flags.DEFINE_string('root', None, 'Root folder of the source.')
_OUT = flags.DEFINE_string(
    'out', None, 'Data folder; the dataset goes to <out>/<name>/<version>.')
_WORKERS = flags.DEFINE_integer(
    'workers', 1, 'Processes cropping videos in parallel.', lower_bound=1)
flags.mark_flags_as_required(['source', 'root', 'out'])


def main(argv):
  del argv  # cli.run allows none.
  xla.use_fast_cpu_flags()
  validation.check_data(_CONFIG.value)
  if not pathlib.Path(_ROOT.value).is_dir():
    raise curate.SourceError(f'--root={_ROOT.value}: no such folder')
  files.check_folder(_OUT.value, what='--out')
  path, summary = builders.build(
      _SOURCE.value, root=_ROOT.value, out=_OUT.value,
      config=_CONFIG.value.curation, workers=_WORKERS.value)
  print(builders.format_summary(path, summary))


def run():
  """Console entry point (siamfc-build-data)."""
  cli.run(main, errors=(curate.SourceError, dataset.DatasetError),
          interrupted='; the same command carries on where it stopped')


if __name__ == '__main__':
  run()
