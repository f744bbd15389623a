"""Data-parallel sharding: batches split over a 'data' mesh axis.

The train step never counts devices: it is jitted with the shardings made
here, parameters replicated and the batch split along its first axis.
"""

import jax
import numpy as np
from jax.sharding import AxisType, Mesh, NamedSharding, PartitionSpec

DATA_AXIS = 'data'


def data_mesh(devices=None) -> Mesh:
  """A 1-D mesh over ``devices`` (default: all).

  The axis type is Auto so XLA propagates shardings through reshapes of
  the batch (e.g. scales folded into the batch) without annotations.
  """
  devices = np.asarray(devices if devices is not None else jax.devices())
  return Mesh(devices, (DATA_AXIS,), axis_types=(AxisType.Auto,))


def replicated(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, PartitionSpec())


def batch_sharded(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, PartitionSpec(DATA_AXIS))


def check_batch_size(batch_size: int, mesh: Mesh) -> None:
  """Raises ValueError unless the batch splits evenly over the devices."""
  count = mesh.shape[DATA_AXIS]
  if batch_size % count:
    raise ValueError(f'batch size {batch_size} does not split over {count}'
                     ' devices')


def put_batch(batch, mesh: Mesh):
  """Places a host batch (global, on one process) sharded over the mesh."""
  return jax.device_put(batch, batch_sharded(mesh))
