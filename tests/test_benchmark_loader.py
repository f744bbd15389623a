"""The loader benchmark runs and prints loader and train-step rates."""

import json
import os
import subprocess
import sys

import imageio.v3 as iio
import pytest

from siamfc_jax import demo
from siamfc_jax import sequences


@pytest.mark.slow
def test_benchmark_loader_prints_rates(tmp_path):
  folder = tmp_path / 'sequences' / 'demo'
  (folder / 'img').mkdir(parents=True)
  sequence = demo.demo_sequence(6)
  for i, frame in enumerate(sequence, start=1):
    iio.imwrite(folder / 'img' / f'{i:08d}.jpg', frame)
  sequences.write_boxes(folder / 'groundtruth.txt', sequence.groundtruth)
  result = subprocess.run(
      [sys.executable, '-m', 'experiments.benchmark_loader',
       f'--data_dir={tmp_path / "data"}', '--source=sequences',
       f'--root={folder.parent}', '--workers=0', '--batch_size=2',
       '--steps=2', '--warmup_steps=1', '--train_steps=1'],
      env=dict(os.environ, JAX_PLATFORMS='cpu'), capture_output=True,
      text=True, timeout=600, close_fds=False)
  assert result.returncode == 0, result.stderr[-3000:]
  assert '0 workers:' in result.stdout
  assert 'train step consumes' in result.stdout
  record = json.loads(result.stdout.strip().splitlines()[-1])
  assert record['pairs_per_second']['0'] > 0
  assert record['train_step_pairs_per_second'] > 0
  assert record['crops'] == 6
