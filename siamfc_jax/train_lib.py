"""Training SiamFC: train state, optimiser, the jitted step, the loop.

``train_and_evaluate(config, workdir, make_batches)`` is resumable: it
restores the latest checkpoint in ``workdir`` and asks ``make_batches`` for
the pairs from that step on, so a killed run finishes with the same
parameters as an uninterrupted one. The input pipeline is an argument
(``data_prep.pairs.training_batches(config)`` for the datasets of
data_prep.build): this package does not depend on data_prep.
"""

import contextlib
import functools
import json
import math
import pathlib
import time
from typing import Any, Callable, Iterator

import flax.struct
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import orbax.checkpoint as ocp
import tensorboardX
import tqdm
from absl import logging

from siamfc_jax import weights
from siamfc_jax import distributed
from siamfc_jax import files
from siamfc_jax import losses
from siamfc_jax import model as model_lib
from siamfc_jax import records
from siamfc_jax import sequences
from siamfc_jax import sharding
from siamfc_jax import track_lib


class TrainState(flax.struct.PyTreeNode):
  step: jax.Array
  params: Any
  batch_stats: Any
  opt_state: Any


def learning_rate_schedule(config: ml_collections.ConfigDict,
                           steps_per_epoch: int) -> optax.Schedule:
  """Constant per epoch, log-spaced from lr_start to lr_end over the epochs."""
  ratio = config.lr_end / config.lr_start
  last_epoch = max(config.num_epochs - 1, 1)

  def schedule(step):
    epoch = jnp.minimum(step // steps_per_epoch, config.num_epochs - 1)
    return config.lr_start * ratio ** (epoch / last_epoch)

  return schedule


def _decay_mask(params, decay: str):
  """Which parameters get weight decay: 'all', or 'kernels' (not biases/BN)."""
  if decay == 'all':
    return jax.tree.map(lambda _: True, params)
  if decay != 'kernels':
    raise ValueError(f"weight_decay_on must be 'all' or 'kernels', got {decay}")
  return jax.tree_util.tree_map_with_path(
      lambda path, _: path[-1].key == 'kernel', params)


def create_optimizer(config: ml_collections.ConfigDict,
                     steps_per_epoch: int) -> optax.GradientTransformation:
  """SGD with momentum and (masked) L2 weight decay added to the gradient."""
  return optax.chain(
      optax.add_decayed_weights(
          config.weight_decay,
          mask=functools.partial(_decay_mask, decay=config.weight_decay_on)),
      optax.sgd(learning_rate_schedule(config, steps_per_epoch),
                momentum=config.momentum))


def steps_per_epoch(config: ml_collections.ConfigDict) -> int:
  return math.ceil(config.pairs_per_epoch / config.batch_size)


def create_train_state(rng: jax.Array, *, config: ml_collections.ConfigDict,
                       tx: optax.GradientTransformation) -> TrainState:
  net = model_lib.create_model(config.model)
  variables = model_lib.init_variables(
      net, rng, exemplar_size=config.exemplar_size,
      search_size=config.instance_size)
  return TrainState(step=jnp.zeros((), jnp.int32),
                    params=variables['params'],
                    batch_stats=variables['batch_stats'],
                    opt_state=tx.init(variables['params']))


def train_step(state: TrainState, batch: dict[str, jax.Array], *,
               config: ml_collections.ConfigDict,
               tx: optax.GradientTransformation):
  """One SGD step on a batch of exemplar/search pairs.

  Args:
    state: the train state.
    batch: {'exemplar': (B, 127, 127, 3), 'search': (B, 255, 255, 3)},
      pixel values in [0, 255], the target centred in both.
    config: a train config.
    tx: the optimiser.

  Returns:
    (new state, metrics dict with loss, grad_norm and learning_rate).
  """
  net = model_lib.create_model(config.model)
  pixels = model_lib.accumulation_dtype(config.model.dtype)
  exemplar = batch['exemplar'].astype(pixels)
  search = batch['search'].astype(pixels)[:, None]
  response_size = model_lib.response_size(config.exemplar_size,
                                          config.instance_size)
  labels, label_weights = losses.label_map(
      response_size, config.total_stride, config.positive_radius,
      config.negative_radius)

  def loss_fn(params):
    scores, updates = net.apply(
        {'params': params, 'batch_stats': state.batch_stats}, exemplar,
        search, train=True, mutable=['batch_stats'])
    return losses.logistic_loss(scores[:, 0], labels, label_weights), updates

  (loss, updates), grads = jax.value_and_grad(loss_fn, has_aux=True)(
      state.params)
  param_updates, opt_state = tx.update(grads, state.opt_state, state.params)
  new_state = state.replace(
      step=state.step + 1,
      params=optax.apply_updates(state.params, param_updates),
      batch_stats=updates['batch_stats'],
      opt_state=opt_state)
  lr = learning_rate_schedule(config, steps_per_epoch(config))(state.step)
  metrics = dict(loss=loss, grad_norm=optax.tree.norm(grads),
                 learning_rate=lr)
  return new_state, metrics


def variables_of(state: TrainState) -> dict[str, Any]:
  """The network variables of a train state, for tracking or export."""
  return {'params': state.params, 'batch_stats': state.batch_stats}


def host_batch(batch) -> dict[str, np.ndarray]:
  return {k: np.asarray(batch[k]) for k in ('exemplar', 'search')}


def _tracking_config(config: ml_collections.ConfigDict):
  """The track config used for validation: config.tracker + config.model."""
  track_config = ml_collections.ConfigDict(config.tracker.to_dict())
  track_config.model = config.model
  return track_config


def validation_sequences(config: ml_collections.ConfigDict):
  """The validation sequences of a train config, cut to eval_max_frames."""
  root = pathlib.Path(config.sequences_root)
  return [sequences.truncate(sequences.load_folder(root / name),
                             config.eval_max_frames)
          for name in config.val_videos]


def restore_or_create(config: ml_collections.ConfigDict, workdir,
                      tx: optax.GradientTransformation, state_sharding):
  """The latest checkpointed train state in ``workdir``, else a new one.

  Returns:
    (state placed with ``state_sharding``, the orbax CheckpointManager).
  """
  state = jax.jit(functools.partial(create_train_state, config=config, tx=tx),
                  out_shardings=state_sharding)(jax.random.key(config.seed))
  manager = ocp.CheckpointManager(
      (pathlib.Path(workdir) / 'checkpoints').absolute(),
      options=ocp.CheckpointManagerOptions(
          max_to_keep=config.keep_checkpoints))
  if manager.latest_step() is not None:
    abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, state)
    state = manager.restore(manager.latest_step(),
                            args=ocp.args.StandardRestore(abstract))
  return state, manager


def precision(config: ml_collections.ConfigDict):
  """The JAX precision scope a train config needs.

  ``config.model.dtype='float64'`` (the reference runs of the tests, whose
  rounding differs between CPUs by orders of magnitude less than float32's)
  needs 64-bit arrays; they are turned on for the run only.
  """
  if config.model.dtype == 'float64':
    return jax.enable_x64(True)
  return contextlib.nullcontext()


def export_weights(config: ml_collections.ConfigDict, workdir, path) -> int:
  """Writes the latest checkpoint's network weights (float16) to ``path``.

  Returns:
    The step of that checkpoint.
  """
  with precision(config):
    mesh = sharding.data_mesh()
    tx = create_optimizer(config, steps_per_epoch(config))
    state, manager = restore_or_create(config, workdir, tx,
                                       sharding.replicated(mesh))
    if manager.latest_step() is None:
      raise FileNotFoundError(f'{workdir}: no checkpoint to export')
    if distributed.is_main_process():
      weights.save_weights(path, variables_of(state), dtype=np.float16)
    return int(state.step)


class Stop:
  """A request to end training cleanly, with a checkpoint (e.g. Ctrl-C).

  ``request()`` is refused (returns False) until the first step has run,
  while there is nothing new to save and the step compiles, and in
  multi-process runs, where the processes would see it at different steps
  and save different checkpoints (there a Ctrl-C stops every process and
  the run resumes from its last periodic checkpoint).
  """

  def __init__(self):
    self.running = False
    self.requested = False

  def request(self) -> bool:
    self.requested = self.running and jax.process_count() == 1
    return self.requested


def train_and_evaluate(config: ml_collections.ConfigDict, workdir,
                       make_batches: Callable[..., Iterator[dict]], *,
                       stop: Stop | None = None) -> dict:
  """Trains (or resumes training) and returns the last validation record.

  ``make_batches(start_step=, batch_size=, shard_index=, shard_count=)``
  gives this process's batches ({'exemplar', 'search'} uint8 arrays), the
  same for the same arguments, from ``start_step`` on. Once ``stop`` is
  requested, training ends after the current step with a checkpoint of it
  (and no weights.msgpack): the same call resumes from there.

  Writes to ``workdir``: ``checkpoints/`` (orbax, the last
  ``keep_checkpoints``), TensorBoard events, ``metrics.jsonl`` (one line per
  logged step), ``run.json`` (config and git revision of each start) and,
  at the end, ``weights.msgpack`` (float16 network weights for tracking).

  Run by every process of a job of several (siamfc_jax/distributed.py),
  with ``workdir`` on a file system they share: each loads its shard of
  every batch, the processes write the checkpoints together, and process 0
  alone writes the rest. Every process validates, on its own devices, so
  that none waits for another in a collective meanwhile; process 0's
  record is the one logged.
  """
  with precision(config):
    return _train_and_evaluate(config, workdir, make_batches, stop)


def _every(every: int, last: int):
  """Whether a periodic action is due after step ``done``: every ``every``
  steps and after the last one."""
  return lambda done: done % every == 0 or done == last


def _train_and_evaluate(config: ml_collections.ConfigDict, workdir,
                        make_batches, stop: Stop | None) -> dict:
  workdir = pathlib.Path(workdir)
  workdir.mkdir(parents=True, exist_ok=True)
  mesh = sharding.data_mesh()
  sharding.check_batch_size(config.batch_size, mesh)
  per_epoch = steps_per_epoch(config)
  total_steps = config.num_epochs * per_epoch
  tx = create_optimizer(config, per_epoch)
  replicated = sharding.replicated(mesh)
  is_main = distributed.is_main_process()

  state, manager = restore_or_create(config, workdir, tx, replicated)
  start = int(state.step)
  if is_main:
    if manager.latest_step() is not None:
      logging.warning('Resuming from step %d', start)
    _append_run_record(workdir / 'run.json', config, start)
    _trim_log(workdir / 'metrics.jsonl', start)

  step_fn = jax.jit(
      functools.partial(train_step, config=config, tx=tx),
      in_shardings=(replicated, sharding.batch_sharded(mesh)),
      out_shardings=(replicated, replicated), donate_argnums=0)
  loader = make_batches(
      start_step=start, batch_size=config.batch_size // jax.process_count(),
      shard_index=jax.process_index(), shard_count=jax.process_count())
  validation = validation_sequences(config) if config.val_videos else []
  writer = (tensorboardX.SummaryWriter(str(workdir / 'tensorboard'))
            if is_main else None)
  record = {}
  log_due = _every(config.log_every_steps, total_steps)
  eval_due = _every(config.eval_every_steps, total_steps)
  save_due = _every(config.checkpoint_every_steps, total_steps)
  with distributed.reports_lost_processes(), tqdm.trange(
      start, total_steps, initial=start, total=total_steps, desc='train',
      unit='step', disable=not (config.progress and is_main)) as bar:
    for step in bar:
      batch = sharding.put_batch(host_batch(next(loader)), mesh)
      state, metrics = step_fn(state, batch)
      done = step + 1
      if log_due(done):
        metrics = {k: float(v) for k, v in jax.device_get(metrics).items()}
        if not math.isfinite(metrics['loss']):
          raise FloatingPointError(f'loss is {metrics["loss"]} at step {done}')
        bar.set_postfix(loss=f'{metrics["loss"]:.4f}')
        if is_main:
          _log(writer, workdir, done, metrics)
      if validation and eval_due(done):
        record = track_lib.validate(_local_copy(variables_of(state)),
                                    _tracking_config(config), validation)
        if is_main:
          _log(writer, workdir, done, {
              f'val/{k}': v for k, v in record.items() if k != 'sequences'})
      stopping = stop is not None and stop.requested
      if save_due(done) or stopping:
        manager.save(done, args=ocp.args.StandardSave(state))
      if stopping:
        break
      if stop is not None:
        stop.running = True
  manager.wait_until_finished()
  if is_main:
    writer.close()
    if not (stop is not None and stop.requested):
      weights.save_weights(workdir / 'weights.msgpack',
                               variables_of(state), dtype=np.float16)
  return record


def _local_copy(tree):
  """``tree`` (replicated over the mesh) on this process's first device:
  the tracker's computations then involve no other process."""
  return jax.device_put(jax.device_get(tree), jax.local_devices()[0])


def _log(writer, workdir: pathlib.Path, step: int, scalars: dict) -> None:
  for name, value in scalars.items():
    writer.add_scalar(name, value, step)
  writer.flush()
  with open(workdir / 'metrics.jsonl', 'a') as f:
    f.write(json.dumps(dict(step=step, **scalars)) + '\n')


def _trim_log(path: pathlib.Path, last_step: int) -> None:
  """Drops log lines past the checkpoint a resumed run starts from."""
  if path.exists():
    lines = [line for line in path.read_text().splitlines()
             if json.loads(line)['step'] <= last_step]
    files.write_text(path, ''.join(line + '\n' for line in lines))


def _append_run_record(path: pathlib.Path, config, start_step: int) -> None:
  starts = json.loads(path.read_text())['starts'] if path.exists() else []
  starts.append(dict(step=start_step, git_revision=records.git_revision()))
  records.write_json(path, dict(config=config.to_dict(), starts=starts))


def step_pairs_per_second(config: ml_collections.ConfigDict, *, steps: int,
                          warmup_steps: int = 1) -> float:
  """Pairs per second consumed by the jitted train step on this machine.

  Uses random pairs at ``config.batch_size``; compilation and
  ``warmup_steps`` steps are left out of the timing.
  """
  tx = create_optimizer(config, steps_per_epoch(config))
  state = create_train_state(jax.random.key(0), config=config, tx=tx)
  step = jax.jit(functools.partial(train_step, config=config, tx=tx),
                 donate_argnums=0)
  rng = np.random.default_rng(0)
  batch = {
      name: rng.integers(0, 256, (config.batch_size, size, size, 3),
                         np.uint8)
      for name, size in (('exemplar', config.exemplar_size),
                         ('search', config.instance_size))}
  for _ in range(warmup_steps):
    state, _ = step(state, batch)
  jax.block_until_ready(state)
  start = time.perf_counter()
  for _ in range(steps):
    state, _ = step(state, batch)
  jax.block_until_ready(state)
  return steps * config.batch_size / (time.perf_counter() - start)
