"""Network weights as single files: saving, loading and the shipped model.

A weights file is the msgpack serialisation (``flax.serialization``) of
``{'params', 'batch_stats'}``, optionally stored in float16 to stay small.
Published weights load too: the original MatConvNet network (``.mat``) and
siamfc-pytorch checkpoints (``.pth``).
"""

import pathlib
from typing import Any

import flax.serialization
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import scipy.io
from absl import logging

from siamfc_jax import files
from siamfc_jax import model as model_lib

PRETRAINED = (pathlib.Path(__file__).parent / 'pretrained'
              / 'siamfc_alexnet.msgpack')


class WeightsError(ValueError):
  """A weights file that does not exist or does not fit the network."""


def save_weights(path, variables, *, dtype=np.float32) -> None:
  """Writes ``{'params', 'batch_stats'}`` to ``path`` atomically."""
  host = jax.tree.map(lambda a: np.asarray(a, dtype), jax.device_get(
      {'params': variables['params'],
       'batch_stats': variables['batch_stats']}))
  files.write_bytes(path, flax.serialization.msgpack_serialize(host))


def _fit(path: pathlib.Path, state, template) -> dict[str, Any]:
  """``state`` as float32 arrays in the structure of ``template``."""
  try:
    state = {k: state[k] for k in template}
  except (KeyError, TypeError) as e:
    raise WeightsError(f'{path}: missing collection {e}') from None
  if jax.tree.map(np.shape, state) != jax.tree.map(np.shape, template):
    raise WeightsError(f'{path}: parameter names or shapes differ from the'
                       ' network\'s')
  return jax.tree.map(lambda a: jnp.asarray(a, jnp.float32), state)


def load_weights(path, template) -> dict[str, Any]:
  """Reads a weights file into the structure of ``template`` (float32)."""
  path = pathlib.Path(path)
  try:
    state = flax.serialization.msgpack_restore(path.read_bytes())
  except OSError as e:
    raise WeightsError(f'{path}: cannot read weights ({e})') from None
  except Exception as e:  # msgpack raises several types for corrupt data.
    raise WeightsError(f'{path}: not a weights file ({e})') from None
  return _fit(path, state, template)


def weights_path(config: ml_collections.ConfigDict) -> pathlib.Path | None:
  """The weights a track config asks for: ``config.checkpoint``, else the
  shipped model, else None (an untrained network from ``config.seed``)."""
  if config.checkpoint:
    return pathlib.Path(config.checkpoint)
  return PRETRAINED if PRETRAINED.is_file() else None


def load_for_tracking(config: ml_collections.ConfigDict) -> dict[str, Any]:
  """The variables of ``weights_path(config)``, or an untrained network."""
  net = model_lib.create_model(config.model)
  template = model_lib.init_variables(
      net, jax.random.key(config.seed), exemplar_size=config.exemplar_size,
      search_size=config.instance_size)
  path = weights_path(config)
  if path is None:
    logging.warning('No weights given and none shipped: using an untrained'
                    ' network (seed %d).', config.seed)
    return template
  logging.info('Loading weights from %s', path)
  if path.suffix == '.mat':
    return import_matconvnet(path, template,
                             score_gain=config.model.score_gain,
                             bn_epsilon=config.model.bn_epsilon)
  if path.suffix == '.pth':
    return import_siamfc_pytorch(path, template)
  return load_weights(path, template)


def _matconvnet_params(path: pathlib.Path) -> dict[str, np.ndarray]:
  try:
    mat = scipy.io.loadmat(path, squeeze_me=True, struct_as_record=False)
  except NotImplementedError:
    raise WeightsError(f'{path}: MATLAB v7.3 files are not supported; save'
                       ' the network with -v7 in MATLAB') from None
  except (OSError, ValueError, scipy.io.matlab.MatReadError) as e:
    raise WeightsError(f'{path}: cannot read MATLAB file ({e})') from None
  net = mat.get('net')
  if net is None or not hasattr(net, 'params'):
    raise WeightsError(f'{path}: no DagNN `net.params` in the file')
  return {p.name: np.asarray(p.value, np.float64) for p in
          np.atleast_1d(net.params)}


def import_matconvnet(path, template, *, score_gain: float,
                      bn_epsilon: float):
  """Loads the original SiamFC MatConvNet network (``*.net.mat``).

  Filters ``br_conv{i}f`` (HWIO) and biases ``br_conv{i}b``; BatchNorm
  ``br_bn{i}m`` (gain), ``br_bn{i}b`` (bias), ``br_bn{i}x`` (mean, sigma);
  the score head is a BatchNorm ``fin_adjust_bn{m,b,x}``. Its positive gain
  m / sigma is folded into conv5 (the scores are bilinear in conv5's
  output), so that with ``score_gain`` the scores equal the original ones;
  ``bn_epsilon`` is the network's, so that sqrt(var + eps) = sigma.
  """
  path = pathlib.Path(path)
  raw = _matconvnet_params(path)
  try:
    embedding = {}
    stats = {}
    for i in range(1, 6):
      embedding[f'conv{i}'] = dict(kernel=raw[f'br_conv{i}f'],
                                   bias=raw[f'br_conv{i}b'])
      if i < 5:
        moments = raw[f'br_bn{i}x']
        embedding[f'bn{i}'] = dict(scale=raw[f'br_bn{i}m'],
                                   bias=raw[f'br_bn{i}b'])
        stats[f'bn{i}'] = dict(mean=moments[:, 0],
                               var=np.maximum(moments[:, 1] ** 2 - bn_epsilon,
                                              0))
    gain, bias, moments = (raw['fin_adjust_bnm'], raw['fin_adjust_bnb'],
                           raw['fin_adjust_bnx'])
  except KeyError as e:
    raise WeightsError(f'{path}: parameter {e} missing') from None
  adjust_gain = float(gain) / float(np.ravel(moments)[1])
  if adjust_gain <= 0:
    raise WeightsError(f'{path}: score gain {adjust_gain} is not positive')
  fold = np.sqrt(adjust_gain / score_gain)
  embedding['conv5'] = {k: v * fold for k, v in embedding['conv5'].items()}
  state = {'params': {'embedding': embedding,
                      'score_bias': float(bias) - adjust_gain * float(
                          np.ravel(moments)[0])},
           'batch_stats': {'embedding': stats}}
  return _fit(path, state, template)


def import_siamfc_pytorch(path, template, *, bgr_input: bool = True):
  """Loads a siamfc-pytorch checkpoint (``*.pth``; needs torch installed).

  Keys ``backbone.conv{i}.0.{weight,bias}`` (OIHW convolutions) and
  ``backbone.conv{i}.1.{weight,bias,running_mean,running_var}`` (BatchNorm);
  its head has no parameters (fixed gain 1e-3). That code feeds OpenCV's BGR
  frames, so with ``bgr_input`` conv1's input channels are reversed for the
  RGB frames used here.
  """
  path = pathlib.Path(path)
  try:
    import torch  # pylint: disable=g-import-not-at-top
  except ImportError:
    raise WeightsError(f'{path}: reading .pth files needs torch'
                       ' (pip install torch)') from None
  try:
    raw = torch.load(path, map_location='cpu', weights_only=True)
  except Exception as e:  # torch raises many types for bad files.
    raise WeightsError(f'{path}: cannot read checkpoint ({e})') from None
  raw = raw.get('state_dict', raw) if isinstance(raw, dict) else raw
  raw = {k.removeprefix('module.'): v.double().numpy() for k, v in raw.items()
         if hasattr(v, 'numpy') and v.is_floating_point()}
  try:
    embedding, stats = {}, {}
    for i in range(1, 6):
      kernel = np.transpose(raw[f'backbone.conv{i}.0.weight'], (2, 3, 1, 0))
      if i == 1 and bgr_input:
        kernel = kernel[:, :, ::-1]
      embedding[f'conv{i}'] = dict(kernel=kernel,
                                   bias=raw[f'backbone.conv{i}.0.bias'])
      if i < 5:
        bn = f'backbone.conv{i}.1.'
        embedding[f'bn{i}'] = dict(scale=raw[bn + 'weight'],
                                   bias=raw[bn + 'bias'])
        stats[f'bn{i}'] = dict(mean=raw[bn + 'running_mean'],
                               var=raw[bn + 'running_var'])
  except KeyError as e:
    raise WeightsError(f'{path}: parameter {e} missing') from None
  state = {'params': {'embedding': embedding, 'score_bias': 0.0},
           'batch_stats': {'embedding': stats}}
  return _fit(path, state, template)
