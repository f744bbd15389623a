"""Data-parallel sharding: batches split over a 'data' mesh axis.

The train step never counts devices: it is jitted with the shardings made
here, parameters replicated and the batch split along its first axis. The
mesh spans the devices of every process of the job (siamfc_jax/distributed.py)
in process order, so process p holds the p-th block of rows of the global
batch, the rows its loader shard makes (data_prep/pairs.py).
"""

import collections

import jax
import numpy as np
from jax.sharding import AxisType, Mesh, NamedSharding, PartitionSpec

DATA_AXIS = 'data'


def data_mesh(devices=None) -> Mesh:
  """A 1-D mesh over ``devices`` (default: all, of all processes).

  The axis type is Auto so XLA propagates shardings through reshapes of
  the batch (e.g. scales folded into the batch) without annotations.
  """
  devices = list(devices if devices is not None else jax.devices())
  devices.sort(key=lambda d: (d.process_index, d.id))
  return Mesh(np.asarray(devices), (DATA_AXIS,), axis_types=(AxisType.Auto,))


def replicated(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, PartitionSpec())


def batch_sharded(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, PartitionSpec(DATA_AXIS))


def check_batch_size(batch_size: int, mesh: Mesh) -> None:
  """Raises ValueError unless the batch splits evenly over the devices, as
  many rows on every process."""
  count = mesh.shape[DATA_AXIS]
  if batch_size % count:
    raise ValueError(f'batch size {batch_size} does not split over {count}'
                     ' devices')
  per_process = collections.Counter(d.process_index for d in mesh.devices.flat)
  if len(set(per_process.values())) > 1:
    raise ValueError(f'the processes have different numbers of devices'
                     f' ({dict(sorted(per_process.items()))}); each loads as'
                     ' many pairs')


def put_batch(batch, mesh: Mesh):
  """The global batch of which ``batch`` holds this process's rows.

  On one process ``batch`` is the whole batch; on several, each gives its
  own rows, and none is copied between hosts.
  """
  sharding = batch_sharded(mesh)
  return jax.tree.map(
      lambda rows: jax.make_array_from_process_local_data(sharding, rows),
      batch)
