"""One TFDS builder per source layout, and building a dataset by name."""

import pathlib

import ml_collections

from data_prep import dataset
from data_prep.builders import got10k
from data_prep.builders import sequences
from data_prep.builders import vid

# --source names; OTB folders and the shared sequences share one layout.
SOURCES = {
    'got10k': got10k.Got10kCrops,
    'otb': sequences.SequenceCrops,
    'sequences': sequences.SequenceCrops,
    'vid': vid.VidCrops,
}


def build(source: str, *, root, out, config: ml_collections.ConfigDict,
          workers: int = 1) -> tuple[pathlib.Path, dict]:
  """Builds (or finds complete) the dataset of a source.

  Args:
    source: a key of SOURCES.
    root: the source dataset's root folder.
    out: the TFDS data folder; the dataset goes to <out>/<name>/<version>.
    config: the ``curation`` part of siamfc_jax/configs/data.py.
    workers: processes cropping videos in parallel.

  Returns:
    The dataset's folder and its build summary.
  """
  builder = SOURCES[source](root=root, config=config, workers=workers,
                            data_dir=out)
  path = builder.build()
  return path, dataset.metadata(path)[dataset.SUMMARY]


def format_summary(path, summary: dict) -> str:
  """The build summary as lines of text."""
  skipped = ', '.join(f'{reason} {count}'
                      for reason, count in summary['skipped'].items())
  lines = [
      f'dataset: {path}',
      f'videos: {summary["videos"]} with crops of {summary["videos_found"]}'
      f' found, tracks: {summary["tracks"]}, crops: {summary["crops"]}',
      f'skipped targets: {skipped or "none"}',
      f'skipped videos: {len(summary["skipped_videos"])}',
  ]
  lines.extend(f'  {name}: {problem}'
               for name, problem in summary['skipped_videos'].items())
  return '\n'.join(lines)
