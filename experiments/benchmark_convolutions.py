"""Each convolution of the network, ours against PyTorch's, and each of our
convolution algorithms (siamfc_jax/conv_algorithms.py) against ours.

  python -m experiments.benchmark_convolutions
  python -m experiments.benchmark_convolutions --config.rounds=9

See siamfc_jax/configs/benchmark_convolutions.py for what is timed and
the expected result.
"""

import functools
import sys
from typing import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import torch
from absl import app
from absl import flags
from ml_collections import config_flags

from experiments.benchmark_lib import timing
from siamfc_jax import configs
from siamfc_jax import conv_algorithms
from siamfc_jax import model as model_lib
from siamfc_jax import records
from siamfc_jax import validation
from siamfc_jax import xla
from siamfc_jax.configs import base

IMPLEMENTATIONS = ('ours', 'torch')
PASSES = ('forward', 'weight_grad', 'input_grad')


class ImagesTooSmall(ValueError):
  pass


def network_convolutions(side: int) -> list[dict]:
  """The convolutions of our embedding on a side x side image, in order.

  Returns:
    [{'name', 'input_shape' (one image, HWC), 'features', 'kernel_size',
    'groups', 'strides'}], read from the model itself.
  """
  found = []

  def record(next_fun, args, kwargs, context):
    module = context.module
    if isinstance(module, model_lib.GroupedConv):
      found.append(dict(name=module.name,
                        input_shape=tuple(args[0].shape[1:]),
                        features=module.features,
                        kernel_size=module.kernel_size,
                        groups=module.groups, strides=module.strides))
    return next_fun(*args, **kwargs)

  net = model_lib.create_model(base.model_config())
  images = jax.ShapeDtypeStruct((1, side, side, 3), jnp.float32)
  with nn.intercept_methods(record):
    jax.eval_shape(functools.partial(net.init, method=net.embed),
                   jax.random.key(0), images)
  for layer in found:
    if min(layer['input_shape'][:2]) < layer['kernel_size']:
      raise ImagesTooSmall(
          f'{side}x{side} images are too small for the network: {layer["name"]}'
          f' gets {layer["input_shape"][0]}x{layer["input_shape"][1]} inputs')
  return found


def layer_inputs(layer: dict, images: int,
                 rng: np.random.Generator) -> dict[str, np.ndarray]:
  """Random float32 images (NHWC), kernel (HWIO), bias and output gradient."""
  height, width, channels = layer['input_shape']
  size, strides = layer['kernel_size'], layer['strides']
  fan_in = size * size * channels // layer['groups']

  def normal(*shape, scale=1.0):
    return (rng.normal(size=shape) * scale).astype(np.float32)

  return dict(
      x=normal(images, height, width, channels),
      kernel=normal(size, size, channels // layer['groups'],
                    layer['features'], scale=np.sqrt(2 / fan_in)),
      bias=normal(layer['features']),
      dy=normal(images, (height - size) // strides + 1,
                (width - size) // strides + 1, layer['features']))


def algorithms_for(layer: dict, algorithms) -> list[str]:
  """The ``algorithms`` (config.model.conv_algorithm values) that compute
  ``layer`` other than directly (conv_algorithms.layer_algorithm)."""
  return [a for a in algorithms if conv_algorithms.layer_algorithm(
      a, kernel_size=layer['kernel_size'], strides=layer['strides'])
          != 'direct']


def ours_calls(layer: dict, inputs: dict,
               algorithm: str = 'direct') -> dict[str, Callable]:
  """Our layer's forward pass, weight (and bias) and input gradients.

  ``algorithm`` is a config.model.conv_algorithm value. Each call returns
  its results in our layouts: outputs and input gradients NHWC, kernel
  gradients HWIO.
  """
  module = model_lib.GroupedConv(
      features=layer['features'], kernel_size=layer['kernel_size'],
      groups=layer['groups'], strides=layer['strides'], algorithm=algorithm)
  variables = {'params': {'kernel': jnp.asarray(inputs['kernel']),
                          'bias': jnp.asarray(inputs['bias'])}}
  x, dy = jnp.asarray(inputs['x']), jnp.asarray(inputs['dy'])
  forward = jax.jit(module.apply)

  @jax.jit
  def weight_grad(variables, x, dy):
    pullback = jax.vjp(lambda v: module.apply(v, x), variables)[1]
    grads = pullback(dy)[0]['params']
    return grads['kernel'], grads['bias']

  @jax.jit
  def input_grad(variables, x, dy):
    return jax.vjp(lambda x: module.apply(variables, x), x)[1](dy)[0]

  def ready(fn, *args):
    return lambda: jax.block_until_ready(fn(*args))

  return dict(forward=ready(forward, variables, x),
              weight_grad=ready(weight_grad, variables, x, dy),
              input_grad=ready(input_grad, variables, x, dy))


def torch_calls(layer: dict, inputs: dict) -> dict[str, Callable]:
  """The same for torch.nn.Conv2d in channels_last (oneDNN on CPUs)."""
  def nchw(array):
    return torch.from_numpy(array).permute(0, 3, 1, 2).contiguous(
        memory_format=torch.channels_last)

  def nhwc(tensor):
    return tensor.permute(0, 2, 3, 1).numpy()

  conv = torch.nn.Conv2d(
      layer['input_shape'][-1], layer['features'], layer['kernel_size'],
      stride=layer['strides'], groups=layer['groups'])
  with torch.no_grad():
    conv.weight.copy_(torch.from_numpy(inputs['kernel']).permute(3, 2, 0, 1))
    conv.bias.copy_(torch.from_numpy(inputs['bias']))
  conv = conv.to(memory_format=torch.channels_last)
  x, dy = nchw(inputs['x']), nchw(inputs['dy'])

  def gradients(mask):
    # The backward kernels alone, without the forward pass autograd needs.
    with torch.no_grad():
      return torch.ops.aten.convolution_backward(
          dy, x, conv.weight, [conv.out_channels], conv.stride, conv.padding,
          conv.dilation, False, [0, 0], conv.groups, mask)

  def forward():
    with torch.no_grad():
      return nhwc(conv(x))

  def weight_grad():
    _, kernel, bias = gradients([False, True, True])
    return kernel.permute(2, 3, 1, 0).numpy(), bias.numpy()

  return dict(forward=forward, weight_grad=weight_grad,
              input_grad=lambda: nhwc(gradients([True, False, False])[0]))


def measure(config: ml_collections.ConfigDict) -> tuple[dict, dict]:
  """Times every pass of every layer in turns.

  Besides 'ours' (the direct convolution) and 'torch', each algorithm of
  ``config.conv_algorithms`` is timed as 'ours/ALGORITHM' on the layers
  it computes other than directly. conv1's input gradient is left out: no
  step needs the gradient of the images.

  Returns:
    ({batch: {layer: {impl: {pass: median ms}}}}, the same with the list
    of per-round medians).
  """
  for algorithm in config.conv_algorithms:
    if algorithm not in conv_algorithms.ALGORITHMS:
      raise validation.ConfigError(
          f'config.conv_algorithms: {algorithm!r} is not one of the options;'
          f' allowed: {", ".join(map(repr, conv_algorithms.ALGORITHMS))}')
  rng = np.random.default_rng(config.seed)
  timed = {}
  for batch, (images, side) in config.batches.items():
    for layer in network_convolutions(side):
      inputs = layer_inputs(layer, images, rng)
      made = {'ours': ours_calls(layer, inputs),
              'torch': torch_calls(layer, inputs)}
      for algorithm in algorithms_for(layer, config.conv_algorithms):
        made[f'ours/{algorithm}'] = ours_calls(layer, inputs, algorithm)
      for impl, calls in made.items():
        for name, call in calls.items():
          if not (name == 'input_grad' and layer['name'] == 'conv1'):
            call()  # Compiles, or warms the caches up.
            timed[batch, layer['name'], impl, name] = call
  samples = {key: [] for key in timed}
  for _, key in timing.in_turns(list(timed), config.rounds):
    samples[key].append(timing.repeat(timed[key], config.repeats))
  results, round_ms = {}, {}
  for (batch, layer, impl, name), rounds in samples.items():
    results.setdefault(batch, {}).setdefault(layer, {}).setdefault(
        impl, {})[name] = timing.median_ms(sum(rounds, []))
    round_ms.setdefault(batch, {}).setdefault(layer, {}).setdefault(
        impl, {})[name] = [timing.median_ms(r) for r in rounds]
  return results, round_ms


def algorithm_speedups(round_ms: dict) -> dict:
  """{batch: {layer: {algorithm: {pass: {'median', 'low', 'high'}}}}}: the
  direct convolution's time over the algorithm's, round by round (> 1: the
  algorithm is faster)."""
  speedups = {}
  for batch, layers in round_ms.items():
    for layer, by_impl in layers.items():
      for impl, passes in by_impl.items():
        if impl.startswith('ours/'):
          speedups.setdefault(batch, {}).setdefault(layer, {})[
              impl.split('/', 1)[1]] = {
                  name: timing.paired_ratios(by_impl['ours'][name], ms)
                  for name, ms in passes.items()}
  return speedups


def totals(results: dict) -> dict:
  """{batch: {impl: {pass: ms summed over the layers},
  'ratio': {pass: torch / ours}}}."""
  summed = {}
  for batch, layers in results.items():
    batch_totals = {impl: {} for impl in IMPLEMENTATIONS}
    for layer in layers.values():
      for impl in IMPLEMENTATIONS:
        for name, ms in layer[impl].items():
          batch_totals[impl][name] = round(
              batch_totals[impl].get(name, 0.0) + ms, 3)
    batch_totals['ratio'] = {
        name: round(batch_totals['torch'][name] / ms, 3)
        for name, ms in batch_totals['ours'].items()}
    summed[batch] = batch_totals
  return summed


def run(config: ml_collections.ConfigDict) -> dict:
  """Measures, writes the JSON record to config.output and returns it."""
  results, round_ms = measure(config)
  record = records.benchmark_record(
      'convolutions', config, ('jax', 'jaxlib', 'flax', 'torch', 'numpy'),
      results=results, totals=totals(results), round_ms=round_ms,
      algorithm_speedups=algorithm_speedups(round_ms))
  records.write_json(config.output, record)
  return record


def summary_lines(record: dict) -> list[str]:
  """Per batch, a row per layer: our and torch's ms per pass, and totals."""
  lines = []
  header = ''.join(f'{f"{impl} {name}":>20}' for name in PASSES
                   for impl in IMPLEMENTATIONS)
  for batch, layers in record['results'].items():
    images, side = record['config']['batches'][batch]
    lines.append(f'{batch} ({images} x {side}x{side}), ms')
    lines.append(f'{"":<8}{header}')
    rows = {**layers, 'total': record['totals'][batch]}
    for layer, by_impl in rows.items():
      lines.append(f'{layer:<8}' + ''.join(
          f'{by_impl[impl][name]:>20.1f}' if name in by_impl[impl]
          else f'{"-":>20}' for name in PASSES for impl in IMPLEMENTATIONS))
    ratio = record['totals'][batch]['ratio']
    lines.append('  torch / ours (> 1: ours faster): ' + ', '.join(
        f'{name} x{value:.2f}' for name, value in ratio.items()))
    for layer, by_algorithm in record['algorithm_speedups'].get(
        batch, {}).items():
      for algorithm, ratios in by_algorithm.items():
        lines.append(f'  {layer} direct / {algorithm} (> 1: {algorithm}'
                     ' faster): ' + ', '.join(
                         f'{name} x{r["median"]:.2f} ({r["low"]:.2f}-'
                         f'{r["high"]:.2f})' for name, r in ratios.items()))
  return lines


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  xla.use_fast_cpu_flags()
  config = flags.FLAGS.config
  try:
    record = run(config)
  except (ImagesTooSmall, validation.ConfigError) as e:
    sys.exit(f'error: {e}')
  print('\n'.join(summary_lines(record)))
  print(f'record: {config.output}')


if __name__ == '__main__':
  # Defined only when run, so that tests can import this module beside
  # experiments.benchmark_speed, which defines --config too.
  config_flags.DEFINE_config_file(
      'config', str(configs.DIRECTORY / 'benchmark_convolutions.py'),
      'Benchmark config file.')
  app.run(main)
