"""Network weights as single files: saving, loading and the shipped model.

A weights file is the msgpack serialisation (``flax.serialization``) of
``{'params', 'batch_stats'}``, optionally stored in float16 to stay small.
"""

import pathlib
from typing import Any

import flax.serialization
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
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


def load_weights(path, template) -> dict[str, Any]:
  """Reads a weights file into the structure of ``template`` (float32)."""
  path = pathlib.Path(path)
  try:
    state = flax.serialization.msgpack_restore(path.read_bytes())
  except OSError as e:
    raise WeightsError(f'{path}: cannot read weights ({e})') from None
  except Exception as e:  # msgpack raises several types for corrupt data.
    raise WeightsError(f'{path}: not a weights file ({e})') from None
  expected = jax.tree.map(np.shape, template)
  try:
    got = jax.tree.map(np.shape, {k: state[k] for k in template})
  except KeyError as e:
    raise WeightsError(f'{path}: missing collection {e}') from None
  if got != expected:
    raise WeightsError(f'{path}: parameter names or shapes differ from the'
                       f' network\'s')
  return jax.tree.map(lambda a: jnp.asarray(a, jnp.float32),
                      {k: state[k] for k in template})


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
  return load_weights(path, template)
