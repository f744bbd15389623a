"""Tests of experiments/benchmark_convolutions.py."""

import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip('torch')

from experiments import benchmark_convolutions  # noqa: E402  (needs torch)
from siamfc_jax import validation  # noqa: E402
from siamfc_jax.configs import (  # noqa: E402
    benchmark_convolutions as config_lib)


def test_network_convolutions_are_the_models():
  layers = benchmark_convolutions.network_convolutions(255)
  assert [(l['name'], l['input_shape'], l['groups'], l['strides'])
          for l in layers] == [
              ('conv1', (255, 255, 3), 1, 2), ('conv2', (61, 61, 96), 2, 1),
              ('conv3', (28, 28, 256), 1, 1), ('conv4', (26, 26, 384), 2, 1),
              ('conv5', (24, 24, 384), 2, 1)]
  assert [l['features'] for l in layers] == [96, 256, 384, 384, 256]


def _arrays(results):
  """A call's results as a list of arrays (the weight gradient is (kernel,
  bias))."""
  return [np.asarray(a) for a in
          (results if isinstance(results, tuple) else (results,))]


def _small_layer(index: int) -> dict:
  """Layer ``index`` of the network on small images: 31 x 31 (conv1) or
  9 x 9 inputs."""
  layer = benchmark_convolutions.network_convolutions(255)[index]
  side = 31 if layer['name'] == 'conv1' else 9
  layer['input_shape'] = (side, side, layer['input_shape'][-1])
  return layer


def _assert_passes_agree(ours, theirs):
  """Every pass of two layer calls (``ours_calls``/``torch_calls``) gives
  the same arrays, within 1e-4 relative or 1e-5 of the largest value."""
  for name in benchmark_convolutions.PASSES:
    for a, b in zip(_arrays(ours[name]()), _arrays(theirs[name]()),
                    strict=True):
      assert a.shape == b.shape, name
      np.testing.assert_allclose(a, b, rtol=1e-4,
                                 atol=1e-5 * np.abs(b).max(), err_msg=name)


@pytest.mark.parametrize('index', range(5))
def test_ours_and_torch_compute_the_same(index):
  layer = _small_layer(index)
  inputs = benchmark_convolutions.layer_inputs(
      layer, 2, np.random.default_rng(index))
  # Float32 rounding of two kernels: at most 9.3e-7 of the largest value
  # over all passes on an AMD EPYC (AVX2), 6% of the tolerance.
  _assert_passes_agree(benchmark_convolutions.ours_calls(layer, inputs),
                       benchmark_convolutions.torch_calls(layer, inputs))


@pytest.mark.parametrize('index,algorithm', [(0, 'space_to_depth'),
                                             (3, 'winograd')])
def test_algorithms_compute_what_direct_does(index, algorithm):
  layer = _small_layer(index)
  assert benchmark_convolutions.algorithms_for(
      layer, ('space_to_depth', 'winograd')) == [algorithm]
  inputs = benchmark_convolutions.layer_inputs(
      layer, 2, np.random.default_rng(index))
  _assert_passes_agree(
      benchmark_convolutions.ours_calls(layer, inputs, algorithm),
      benchmark_convolutions.ours_calls(layer, inputs))


def test_run_writes_the_record(tmp_path):
  config = config_lib.get_config()
  config.batches = {'search': (1, 87)}
  config.rounds = 2
  config.repeats = 1
  config.output = str(tmp_path / 'convolutions.json')
  record = benchmark_convolutions.run(config)
  saved = json.loads((tmp_path / 'convolutions.json').read_text())
  assert saved == json.loads(json.dumps(record))
  layers = saved['results']['search']
  assert list(layers) == ['conv1', 'conv2', 'conv3', 'conv4', 'conv5']
  assert layers['conv1']['ours'].keys() == {'forward', 'weight_grad'}
  assert layers['conv2']['torch'].keys() == set(benchmark_convolutions.PASSES)
  totals = saved['totals']['search']
  for impl in ('ours', 'torch'):
    assert totals[impl]['forward'] == pytest.approx(
        sum(layer[impl]['forward'] for layer in layers.values()), abs=1e-2)
  assert totals['ratio']['input_grad'] == pytest.approx(
      totals['torch']['input_grad'] / totals['ours']['input_grad'], abs=1e-3)
  lines = benchmark_convolutions.summary_lines(saved)
  assert lines[0] == 'search (1 x 87x87), ms'
  assert lines[-5].startswith('  torch / ours (> 1: ours faster): forward x')
  # Each algorithm beside the direct convolution, on its layers only.
  assert [l for l in layers if 'ours/space_to_depth' in layers[l]] == [
      'conv1']
  assert [l for l in layers if 'ours/winograd' in layers[l]] == [
      'conv3', 'conv4', 'conv5']
  speedups = saved['algorithm_speedups']['search']
  assert speedups['conv1'].keys() == {'space_to_depth'}
  assert speedups['conv1']['space_to_depth'].keys() == {'forward',
                                                         'weight_grad'}
  ratio = speedups['conv4']['winograd']['input_grad']
  assert ratio['low'] <= ratio['median'] <= ratio['high']
  direct = saved['round_ms']['search']['conv4']['ours']['input_grad']
  winograd = saved['round_ms']['search']['conv4']['ours/winograd']
  assert len(direct) == config.rounds
  assert ratio['median'] == pytest.approx(
      np.median(np.divide(direct, winograd['input_grad'])), abs=1e-3)
  assert lines[-4].startswith('  conv1 direct / space_to_depth (> 1:'
                              ' space_to_depth faster): forward x')
  assert lines[-1].startswith('  conv5 direct / winograd')


def test_unknown_algorithm_is_a_config_error():
  config = config_lib.get_config()
  config.conv_algorithms = ('winograd', 'fft')
  with pytest.raises(validation.ConfigError,
                     match="'fft' is not one of the options; allowed:"
                     " 'direct', 'im2col'"):
    benchmark_convolutions.measure(config)


@pytest.mark.slow
def test_command_line(tmp_path):
  output = tmp_path / 'convolutions.json'
  done = subprocess.run(
      [sys.executable, '-m', 'experiments.benchmark_convolutions',
       '--config.rounds=1', '--config.repeats=1',
       *[f'--config.batches.{batch}=(1,{side})' for batch, side in
         (('exemplar', 87), ('search', 95), ('pyramid', 87))],
       f'--config.output={output}'],
      capture_output=True, text=True, timeout=300, check=False,
      cwd=pathlib.Path(__file__).resolve().parents[1])
  assert done.returncode == 0, done.stderr[-2000:]
  assert done.stdout.splitlines()[-1] == f'record: {output}'
  assert json.loads(output.read_text())['results'].keys() == {
      'exemplar', 'search', 'pyramid'}


def test_images_too_small_for_the_network():
  with pytest.raises(benchmark_convolutions.ImagesTooSmall,
                     match='39x39 images are too small.*conv3 gets 1x1'):
    benchmark_convolutions.network_convolutions(39)
