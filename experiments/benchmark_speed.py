"""Tracking and training speed, ours against a PyTorch reference.

  python -m experiments.benchmark_speed
  python -m experiments.benchmark_speed --config.frames=50 \
      --config.output=runs/speed.json

The reference is the same network and tracking step written with torch:
the AlexNet of grouped convolutions with the same BatchNorm, the same
bilinear context crops padded with the frame's mean colour (``grid_sample``),
cross-correlation by ``conv2d``, bicubic upsampling of the scores 17 -> 272,
the scale penalty, the Hann window and the damped scale update, with our
weights copied in; its train step is the same SGD step on the balanced
logistic loss. Each entry of ``config.ours`` and ``config.torch`` runs in
a process of its own; once all are compiled, they are timed in turns,
chunk by chunk over several rounds, so that all entries see the machine
in the same state. The run ends with a table, the speed-ups and a JSON
record (see siamfc_jax/configs/benchmark_speed.py).
"""

import collections
import functools
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time
from typing import Any, Callable

import jax
import ml_collections
import numpy as np
import skimage.transform
import torch
import torch.nn.functional as F
import tqdm
from absl import app
from absl import flags
from ml_collections import config_flags

from siamfc_jax import checkpoints
from siamfc_jax import configs
from siamfc_jax import demo
from siamfc_jax import losses
from siamfc_jax import model as model_lib
from siamfc_jax import records
from siamfc_jax import tracker
from siamfc_jax import train_lib
from siamfc_jax.configs import base

_CONFIG = config_flags.DEFINE_config_file(
    'config', str(configs.DIRECTORY / 'benchmark_speed.py'),
    'Benchmark config file.')
_WORKER = flags.DEFINE_string(
    'worker', None, 'Internal: serve one entry, e.g. ours/default.')
_WORKER_CONFIG = flags.DEFINE_string(
    'worker_config', None, "Internal: the run's config as JSON.")
_WORKER_OUTPUT = flags.DEFINE_string(
    'worker_output', None, 'Internal: where the worker writes its checks.')

IMPLEMENTATIONS = ('ours', 'torch')


# Inputs and configs.


def benchmark_frames(config: ml_collections.ConfigDict):
  """The demo sequence resized to ``config.frame_shape``, and its first box.

  Returns:
    (N, H, W, 3) uint8 frames (one init frame, then the warm-up and the
    timed frames) and the 1-based (x, y, w, h) target in the first.
  """
  count = 1 + config.warmup_frames + config.frames
  sequence = demo.demo_sequence(count)
  height, width = config.frame_shape
  frames = np.stack([
      skimage.transform.resize(frame, (height, width), preserve_range=True,
                               anti_aliasing=False).round().astype(np.uint8)
      for frame in sequence])
  scale = np.array([width / demo.FRAME_SHAPE[1], height / demo.FRAME_SHAPE[0]])
  x, y, w, h = sequence.groundtruth[0]
  corner = (np.array([x, y]) - 1) * scale + 1
  return frames, np.concatenate([corner, np.array([w, h]) * scale])


def train_batch(config: ml_collections.ConfigDict) -> dict[str, np.ndarray]:
  """Random uint8 exemplar and search crops, as the pair loader gives."""
  rng = np.random.default_rng(config.track.seed)
  sides = {'exemplar': config.track.exemplar_size,
           'search': config.track.instance_size}
  return {k: rng.integers(0, 256, (config.train_batch_size, s, s, 3),
                          dtype=np.uint8) for k, s in sides.items()}


def model_config(config: ml_collections.ConfigDict,
                 entry: ml_collections.ConfigDict):
  """``config.track.model`` with the entry's dtype (and split_groups)."""
  model = ml_collections.ConfigDict(config.track.model.to_dict())
  for field in ('dtype', 'split_groups'):
    if field in entry:
      model[field] = entry[field]
  return model


def track_config(config: ml_collections.ConfigDict,
                 entry: ml_collections.ConfigDict, num_scales: int):
  """``config.track`` for the entry with ``num_scales`` (paper values)."""
  track = ml_collections.ConfigDict(config.track.to_dict())
  track.update(base.tracker_config(num_scales))
  track.model = model_config(config, entry)
  return track


def train_config(config: ml_collections.ConfigDict,
                 entry: ml_collections.ConfigDict):
  """The paper's train config with the entry's network."""
  train = base.train_config()
  train.model = model_config(config, entry)
  train.batch_size = config.train_batch_size
  return train


# The PyTorch reference.


class TorchSiamFC(torch.nn.Module):
  """siamfc_jax.model.SiamFC in torch (NCHW), weights copied from ours."""

  def __init__(self, model: ml_collections.ConfigDict):
    super().__init__()
    norm = functools.partial(torch.nn.BatchNorm2d, eps=model.bn_epsilon,
                             momentum=1 - model.bn_momentum)
    conv, relu = torch.nn.Conv2d, torch.nn.ReLU
    pool = functools.partial(torch.nn.MaxPool2d, 3, 2)
    self.embedding = torch.nn.Sequential(collections.OrderedDict(
        conv1=conv(3, 96, 11, stride=2), bn1=norm(96), relu1=relu(),
        pool1=pool(),
        conv2=conv(96, 256, 5, groups=2), bn2=norm(256), relu2=relu(),
        pool2=pool(),
        conv3=conv(256, 384, 3), bn3=norm(384), relu3=relu(),
        conv4=conv(384, 384, 3, groups=2), bn4=norm(384), relu4=relu(),
        conv5=conv(384, 256, 3, groups=2)))
    self.score_gain = model.score_gain
    self.score_bias = torch.nn.Parameter(torch.zeros(()))

  def forward(self, images: torch.Tensor) -> torch.Tensor:
    return self.embedding(images)

  @torch.no_grad()
  def load_variables(self, variables) -> 'TorchSiamFC':
    """Copies ``{'params', 'batch_stats'}`` of siamfc_jax.model.SiamFC."""
    params = jax.device_get(variables['params'])
    stats = jax.device_get(variables['batch_stats'])['embedding']

    def put(tensor, array, axes=None):
      array = np.asarray(array, np.float32)
      tensor.copy_(torch.from_numpy(np.array(
          array.transpose(axes) if axes else array, order='C')))

    for name, layer in self.embedding.named_children():
      layer_params = params['embedding'].get(name)
      if name.startswith('conv'):
        put(layer.weight, layer_params['kernel'], (3, 2, 0, 1))  # HWIO->OIHW
        put(layer.bias, layer_params['bias'])
      elif name.startswith('bn'):
        put(layer.weight, layer_params['scale'])
        put(layer.bias, layer_params['bias'])
        put(layer.running_mean, stats[name]['mean'])
        put(layer.running_var, stats[name]['var'])
    put(self.score_bias, params['score_bias'])
    return self


class TorchRunner:
  """Runs TorchSiamFC as one PyTorch configuration (dtype, layout, compile).

  In bfloat16 a network in eval mode (tracking) is converted to bfloat16,
  one in train mode runs under autocast (float32 weights).

  Args:
    net: the network, on ``device``, in train or eval mode.
    entry: an entry of ``config.torch``.
    device: where tensors live.
  """

  def __init__(self, net: TorchSiamFC, entry: ml_collections.ConfigDict,
               device: torch.device):
    if entry.dtype not in ('float32', 'bfloat16'):
      raise ValueError(f'unknown dtype {entry.dtype}')
    bfloat16 = entry.dtype == 'bfloat16'
    self.autocast = bfloat16 and net.training
    self.input_dtype = (torch.bfloat16 if bfloat16 and not net.training
                        else torch.float32)
    self.memory_format = (torch.channels_last if entry.channels_last
                          else torch.contiguous_format)
    self.net = net.to(dtype=self.input_dtype,
                      memory_format=self.memory_format)
    self.device = device
    self.embedding = torch.compile(net) if entry.compile else net
    self.compile = entry.compile

  def embed(self, images: torch.Tensor) -> torch.Tensor:
    """(N, 3, h, w) float pixels -> float32 features."""
    images = images.to(self.input_dtype).contiguous(
        memory_format=self.memory_format)
    with torch.autocast(self.device.type, dtype=torch.bfloat16,
                        enabled=self.autocast):
      return self.embedding(images).float()

  def maybe_compile(self, fn: Callable) -> Callable:
    return torch.compile(fn) if self.compile else fn

  def sync(self) -> None:
    if self.device.type == 'cuda':
      torch.cuda.synchronize()


def _xywh_to_center_size(box: torch.Tensor):
  x, y, w, h = box
  return (torch.stack([y - 1 + (h - 1) / 2, x - 1 + (w - 1) / 2]),
          torch.stack([h, w]))


def _context_side(size: torch.Tensor, context: float) -> torch.Tensor:
  return torch.sqrt(torch.prod(size + context * size.sum()))


def _crops(frame: torch.Tensor, center: torch.Tensor, sides: torch.Tensor,
           out_size: int) -> torch.Tensor:
  """Bilinear square crops of a (3, H, W) frame padded with its mean colour.

  Returns (S, 3, out_size, out_size) for S ``sides``; sampling positions
  are those of siamfc_jax.crops.
  """
  height, width = frame.shape[1:]
  pad = frame.mean(dim=(1, 2))[:, None, None]
  # align_corners=True: -1 and +1 are the centres of the first and last
  # pixels, and output pixel i samples -1 + 2 i / (out_size - 1) under the
  # identity; zero padding of (frame - pad) gives the pad colour outside.
  extent = sides * ((out_size - 1) / out_size)
  theta = torch.zeros(sides.shape[0], 2, 3, device=frame.device)
  theta[:, 0, 0] = extent / (width - 1)
  theta[:, 1, 1] = extent / (height - 1)
  theta[:, 0, 2] = center[1] * (2 / (width - 1)) - 1
  theta[:, 1, 2] = center[0] * (2 / (height - 1)) - 1
  grid = F.affine_grid(theta, [sides.shape[0], 3, out_size, out_size],
                       align_corners=True)
  shifted = (frame - pad)[None].expand(sides.shape[0], -1, -1, -1)
  return F.grid_sample(shifted, grid, mode='bilinear', padding_mode='zeros',
                       align_corners=True) + pad


def keys_cubic_matrix(in_size: int, out_size: int) -> np.ndarray:
  """(out_size, in_size) weights of ``jax.image.resize(..., 'cubic')``.

  Keys' cubic kernel (a = -0.5) at half-pixel centres, the weights of each
  output renormalised where taps fall outside the input.
  """
  samples = (np.arange(out_size) + 0.5) * in_size / out_size - 0.5
  x = np.abs(samples[:, None] - np.arange(in_size)[None])
  weights = np.where(x < 1, (1.5 * x - 2.5) * x * x + 1,
                     np.where(x < 2, ((-0.5 * x + 2.5) * x - 4) * x + 2, 0))
  return (weights / weights.sum(axis=1, keepdims=True)).astype(np.float32)


class TorchTracker:
  """The tracking step of siamfc_jax.tracker in torch, frame by frame.

  The scores are upsampled as ``entry.upsampling`` says: 'matrix', two
  products with ``keys_cubic_matrix`` (our upsampling exactly, so the
  boxes match ours), or 'interpolate', ``F.interpolate(mode='bicubic')``
  (a = -0.75 and clamped borders: the peaks, hence the boxes, drift from
  ours by pixels).
  """

  def __init__(self, runner: TorchRunner, entry: ml_collections.ConfigDict,
               settings: tracker.Settings):
    self.runner = runner
    self.settings = settings
    device = runner.device
    if entry.upsampling not in ('matrix', 'interpolate'):
      raise ValueError(f'unknown upsampling {entry.upsampling}')
    self.upsampling = torch.from_numpy(keys_cubic_matrix(
        settings.response_size, settings.upsampled_size)).to(device)
    self.interpolate = entry.upsampling == 'interpolate'
    self.factors = torch.from_numpy(settings.scale_factors).to(device)
    middle = torch.arange(settings.num_scales) == settings.num_scales // 2
    self.penalties = torch.where(middle, 1.0, settings.scale_penalty).to(
        device)
    self.window = torch.from_numpy(
        tracker.hann_window(settings.upsampled_size)).to(device)
    self._init = runner.maybe_compile(self._init_state)
    self._step = runner.maybe_compile(self._step_state)
    self._state = None

  def _frame(self, image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(image).to(self.runner.device).permute(2, 0, 1)

  def _init_state(self, frame, box):
    s = self.settings
    frame = frame.float()
    center, size = _xywh_to_center_size(box)
    side = _context_side(size, s.context)[None]
    exemplar = self.runner.embed(_crops(frame, center, side, s.exemplar_size))
    # A copy: aliased inputs would make torch.compile compile the step twice.
    return center, size, size.clone(), exemplar

  def _step_state(self, state, frame):
    s = self.settings
    center, size, initial_size, exemplar = state
    frame = frame.float()
    side = (_context_side(size, s.context) * s.instance_size
            / s.exemplar_size)
    search = self.runner.embed(
        _crops(frame, center, side * self.factors, s.instance_size))
    scores = (self.runner.net.score_gain * F.conv2d(search, exemplar)[:, 0]
              + self.runner.net.score_bias)
    up = s.upsampled_size
    if self.interpolate:
      upsampled = F.interpolate(scores[None], size=(up, up), mode='bicubic',
                                align_corners=False)[0]
    else:
      upsampled = self.upsampling @ scores @ self.upsampling.T
    upsampled = upsampled * self.penalties[:, None, None]
    # index_select rather than [best]: no host sync, no torch.compile break.
    best = torch.argmax(upsampled.amax(dim=(1, 2)))[None]
    factor = self.factors.index_select(0, best)[0]
    response = upsampled.index_select(0, best)[0]
    response = response - response.min()
    response = response / response.sum().clamp_min(1e-16)
    response = ((1 - s.window_influence) * response
                + s.window_influence * self.window)
    flat = torch.argmax(response)
    peak = torch.stack([flat // up, flat % up]).float()
    offset = ((peak - (up - 1) / 2) * (s.total_stride / s.response_upsample)
              * side * factor / s.instance_size)
    limits = torch.tensor(frame.shape[1:], dtype=torch.float32,
                          device=frame.device) - 1
    center = torch.minimum(torch.clamp(center + offset, min=0), limits)
    scale = 1 - s.scale_lr + s.scale_lr * factor
    size = torch.minimum(
        torch.maximum(size * scale, s.min_scale * initial_size),
        s.max_scale * initial_size)
    box = torch.stack([center[1] + 1 - (size[1] - 1) / 2,
                       center[0] + 1 - (size[0] - 1) / 2, size[1], size[0]])
    return ((center, size, initial_size, exemplar), box,
            scores.index_select(0, best).max())

  @torch.inference_mode()
  def init(self, image: np.ndarray, box) -> None:
    box = torch.as_tensor(np.asarray(box, np.float32),
                          device=self.runner.device)
    self._state = self._init(self._frame(image), box)
    self.runner.sync()

  @torch.inference_mode()
  def update(self, image: np.ndarray) -> np.ndarray:
    """Tracks one more frame and returns its 1-based (x, y, w, h) box."""
    self._state, box, _ = self._step(self._state, self._frame(image))
    return box.cpu().numpy().astype(np.float64)


def torch_train_step(runner: TorchRunner, train: ml_collections.ConfigDict):
  """The SGD step of siamfc_jax.train_lib.train_step, for TorchSiamFC.

  Returns:
    step(exemplar, search) taking (B, h, w, 3) uint8 tensors and returning
    the loss (a tensor).
  """
  net = runner.net.train()
  decay_all = train.weight_decay_on == 'all'
  decayed = [p for n, p in net.named_parameters()
             if decay_all or (n.startswith('embedding.conv')
                              and n.endswith('weight'))]
  others = [p for p in net.parameters()
            if all(p is not q for q in decayed)]
  optimizer = torch.optim.SGD(
      [dict(params=decayed, weight_decay=train.weight_decay),
       dict(params=others, weight_decay=0.0)],
      lr=train.lr_start, momentum=train.momentum)
  response_size = ((train.instance_size - train.exemplar_size)
                   // train.total_stride + 1)
  labels, weights = (torch.from_numpy(a).to(runner.device)
                     for a in losses.label_map(
                         response_size, train.total_stride,
                         train.positive_radius, train.negative_radius))

  def step(exemplar: torch.Tensor, search: torch.Tensor) -> torch.Tensor:
    optimizer.zero_grad(set_to_none=True)
    z = runner.embed(exemplar.permute(0, 3, 1, 2).float())
    x = runner.embed(search.permute(0, 3, 1, 2).float())
    batch = z.shape[0]
    response = F.conv2d(x.reshape(1, -1, *x.shape[2:]), z, groups=batch)[0]
    scores = net.score_gain * response + net.score_bias
    loss = (weights * F.softplus(-labels * scores)).sum(dim=(1, 2)).mean()
    loss.backward()
    # The global gradient norm, which our step reports too.
    torch.linalg.vector_norm(torch.stack(
        [torch.linalg.vector_norm(p.grad) for p in net.parameters()]))
    optimizer.step()
    return loss.detach()

  return step


# Preparing one entry (in a worker process): compile, check, then time on
# request.

# A timer runs one chunk of a measurement and returns its samples, seconds.
Timer = Callable[[], list[float]]


def _seconds(fn: Callable[[], Any]) -> float:
  start = time.perf_counter()
  fn()
  return time.perf_counter() - start


def _median_ms(seconds) -> float:
  return round(1e3 * float(np.median(seconds)), 3)


class FrameByFrame:
  """Our functional tracker.init/step, one host frame at a time.

  The same calls as tracker.Tracker, and the API of TorchTracker.
  """

  def __init__(self, variables, settings: tracker.Settings):
    self.variables = variables
    self.settings = settings
    self._state = None

  def init(self, image: np.ndarray, box) -> None:
    self._state = jax.block_until_ready(tracker.init(
        self.variables, image, np.asarray(box, np.float32),
        settings=self.settings))

  def update(self, image: np.ndarray) -> np.ndarray:
    self._state, box, _ = tracker.step(
        self.variables, self._state, jax.device_put(image),
        settings=self.settings)
    return np.asarray(jax.device_get(box), np.float64)


def _tracking_timers(result: dict, timers: dict[str, Timer], num_scales: int,
                     trk, frames: np.ndarray, box: np.ndarray,
                     config: ml_collections.ConfigDict) -> None:
  """Tracks once (compiling; keeps the boxes), adds init and track{S}."""
  result['first_call_s'][f'init{num_scales}'] = _seconds(
      lambda: trk.init(frames[0], box))
  tracked, seconds = [np.asarray(box, np.float64)], []
  for frame in frames[1:]:
    start = time.perf_counter()
    tracked.append(trk.update(frame))
    seconds.append(time.perf_counter() - start)
  result['first_call_s'][f'track{num_scales}'] = seconds[0]
  result['boxes'][str(num_scales)] = np.stack(
      tracked[:config.check_frames]).round(4).tolist()

  def init():
    return [_seconds(lambda: trk.init(frames[0], box))
            for _ in range(config.init_repeats)]

  def track():
    trk.init(frames[0], box)
    seconds = [_seconds(lambda: trk.update(frame)) for frame in frames[1:]]
    return seconds[config.warmup_frames:]

  timers.setdefault('init', init)
  timers[f'track{num_scales}'] = track


def _batched_timer(result: dict, num_scales: int, variables,
                   settings: tracker.Settings, frames: np.ndarray,
                   box: np.ndarray, count: int,
                   config: ml_collections.ConfigDict) -> Timer:
  """tracker.track_batch on ``count`` copies of the sequence.

  Its samples are the step times per sequence; also records the largest
  difference of the batched boxes from the frame-by-frame ones.
  """

  def steps():
    tracked = tracker.track_batch(variables, settings, [frames] * count,
                                  [box] * count)[0]
    # Row 0 is the init; each step is shared among the sequences.
    return tracked, list(tracked.seconds[1:])

  first, seconds = steps()
  result['first_call_s'][f'batch{num_scales}'] = float(seconds[0]) * count
  check = min(config.check_frames, len(first.boxes))
  result.setdefault('batch_box_diff', {})[str(num_scales)] = round(float(
      np.abs(first.boxes[:check]
             - np.asarray(result['boxes'][str(num_scales)][:check])).max()),
      4)
  return lambda: steps()[1][config.warmup_frames:]


def _train_timer(result: dict, step: Callable[[], float],
                 config: ml_collections.ConfigDict) -> Timer:
  """Runs the warm-up steps (at least the compiling one) of ``step()``.

  ``step()`` returns the loss as a Python float.
  """
  start = time.perf_counter()
  result['train_first_loss'] = step()
  result['first_call_s']['train'] = time.perf_counter() - start
  for _ in range(config.train_warmup_steps - 1):
    step()
  return lambda: [_seconds(step) for _ in range(config.train_steps)]


def prepare_ours(config: ml_collections.ConfigDict,
                 name: str) -> tuple[dict, dict[str, Timer]]:
  """Compiles and checks the entry ``config.ours[name]`` in this process.

  Returns:
    The result {'device', 'xla_flags', 'first_call_s' (compilation
    included), 'boxes': {scales: the first check_frames boxes},
    'train_first_loss' (the same for every entry of one dtype),
    'batch_box_diff': {scales: largest difference of batched boxes from
    frame-by-frame ones}} and the timers: ``init``, ``track{S}`` (per
    frame), ``scan{S}`` (one tracker.track_frames call over all frames),
    ``batch{S}`` (per sequence-frame when ``entry.sequences`` sequences are
    tracked together by tracker.track_batch) and ``train``.
  """
  entry = config.ours[name]
  frames, box = benchmark_frames(config)
  result = dict(device=f'jax {jax.devices()[0].device_kind}',
                xla_flags=os.environ.get('XLA_FLAGS', ''),
                first_call_s={}, boxes={})
  timers = {}
  for num_scales in entry.scales:
    track = track_config(config, entry, num_scales)
    variables = checkpoints.load_for_tracking(track)
    settings = tracker.Settings.from_config(track)
    _tracking_timers(result, timers, num_scales,
                     FrameByFrame(variables, settings), frames, box, config)
    if entry.scan:
      on_device = jax.device_put(frames)

      def scan(variables=variables, settings=settings,
               on_device=on_device):
        jax.block_until_ready(tracker.track_frames(
            variables, on_device, box, settings=settings))

      def scan_chunk(scan=scan):
        return [_seconds(scan) for _ in range(config.scan_repeats)]

      result['first_call_s'][f'scan{num_scales}'] = _seconds(scan)
      timers[f'scan{num_scales}'] = scan_chunk
    if entry.sequences > 1:
      timers[f'batch{num_scales}'] = _batched_timer(
          result, num_scales, variables, settings, frames, box,
          entry.sequences, config)
  if entry.train:
    train = train_config(config, entry)
    tx = train_lib.create_optimizer(train, train_lib.steps_per_epoch(train))
    state = jax.jit(functools.partial(
        train_lib.create_train_state, config=train, tx=tx))(
            jax.random.key(train.seed))
    step_fn = jax.jit(functools.partial(train_lib.train_step, config=train,
                                        tx=tx), donate_argnums=0)
    batch = jax.device_put(train_batch(config))

    def step():
      nonlocal state
      state, metrics = step_fn(state, batch)
      return float(metrics['loss'])

    timers['train'] = _train_timer(result, step, config)
  return result, timers


def prepare_torch(config: ml_collections.ConfigDict,
                  name: str) -> tuple[dict, dict[str, Timer]]:
  """Compiles and checks the entry ``config.torch[name]`` in this process.

  Returns:
    What ``prepare_ours`` returns, without ``scan{S}`` and ``batch{S}``.
  """
  entry = config.torch[name]
  device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
  frames, box = benchmark_frames(config)
  result = dict(device=f'torch {device.type}, {torch.get_num_threads()}'
                ' threads', first_call_s={}, boxes={})
  timers = {}

  def network(model, variables):
    return TorchSiamFC(model).load_variables(variables).to(device)

  for num_scales in entry.scales:
    track = track_config(config, entry, num_scales)
    runner = TorchRunner(
        network(track.model, checkpoints.load_for_tracking(track)).eval(),
        entry, device)
    reference = TorchTracker(runner, entry,
                             tracker.Settings.from_config(track))
    _tracking_timers(result, timers, num_scales, reference, frames, box,
                     config)
  if entry.train:
    train = train_config(config, entry)
    # The initial network of train_lib.create_train_state.
    variables = model_lib.init_variables(
        model_lib.create_model(train.model), jax.random.key(train.seed),
        exemplar_size=train.exemplar_size, search_size=train.instance_size)
    runner = TorchRunner(network(train.model, variables).train(), entry,
                         device)
    step_fn = torch_train_step(runner, train)
    batch = {k: torch.from_numpy(v).to(device)
             for k, v in train_batch(config).items()}

    def step():
      return float(step_fn(batch['exemplar'], batch['search']))

    timers['train'] = _train_timer(result, step, config)
  return result, timers


def serve(config: ml_collections.ConfigDict, key: str, output: str,
          requests, replies) -> None:
  """The worker: prepares the entry ``key``, then times on request.

  Writes the result to ``output``, replies with the names of its timers
  (one JSON line), then for each metric name read from ``requests``
  replies with the samples of one chunk, until ``requests`` ends.
  """
  impl, name = key.split('/')
  prepare = prepare_ours if impl == 'ours' else prepare_torch
  result, timers = prepare(config, name)
  records.write_json(output, result)

  def reply(value):
    replies.write(json.dumps(value) + '\n')
    replies.flush()

  reply(list(timers))
  for request in requests:
    reply(timers[request.strip()]())


# The run: every entry in a process of its own, timed in turns.


class WorkerFailed(RuntimeError):
  pass


class EntryProcess:
  """A worker process for one entry, driven by lines on its stdin/stdout."""

  def __init__(self, impl: str, name: str, entry: ml_collections.ConfigDict,
               config_path: pathlib.Path, tmp: pathlib.Path):
    self.impl, self.name = impl, name
    self.key = f'{impl}/{name}'
    self.output = tmp / f'{impl}_{name}.json'
    self._log = open(tmp / f'{impl}_{name}.log', 'w+')
    env = dict(os.environ)
    if impl == 'ours':
      env['XLA_FLAGS'] = entry.xla_flags
    start = time.perf_counter()
    # A full executable path and close_fds=False let subprocess use
    # posix_spawn rather than fork (this process may run JAX threads).
    self._process = subprocess.Popen(
        [sys.executable, '-m', 'experiments.benchmark_speed',
         f'--worker={self.key}', f'--worker_config={config_path}',
         f'--worker_output={self.output}'],
        env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=self._log, text=True, close_fds=False)
    self.metrics = self._reply()
    self.startup_s = round(time.perf_counter() - start, 1)

  def _reply(self):
    line = self._process.stdout.readline()
    if not line:
      self._process.wait()
      self._log.seek(0)
      last_lines = self._log.read().strip().splitlines()[-5:]
      raise WorkerFailed('\n'.join(
          [*last_lines, f'exit status {self._process.returncode}']))
    return json.loads(line)

  def time(self, metric: str) -> list[float]:
    try:
      self._process.stdin.write(metric + '\n')
      self._process.stdin.flush()
    except BrokenPipeError:  # It has exited: _reply reads its log.
      pass
    return self._reply()

  def close(self) -> None:
    try:
      self._process.stdin.close()
    except BrokenPipeError:  # It has failed already.
      pass
    self._process.wait()
    self._log.close()


def _entry_ms(config: ml_collections.ConfigDict,
              samples: dict[str, list[float]]) -> dict[str, float]:
  """Median milliseconds per metric; ``scan{S}`` per frame, less the init."""
  ms = {metric: _median_ms(seconds) for metric, seconds in samples.items()}
  tracked_frames = config.warmup_frames + config.frames
  for metric in ms:
    if metric.startswith('scan'):
      ms[metric] = round((ms[metric] - ms['init']) / tracked_frames, 3)
  return ms


def _timing_order(workers: list[EntryProcess]):
  """(worker, metric) pairs, metric by metric, so that the entries timed
  for one metric run one right after another."""
  metrics = list(dict.fromkeys(m for w in workers for m in w.metrics))
  return [(w, m) for m in metrics for w in workers if m in w.metrics]


def measure_all(config: ml_collections.ConfigDict) -> dict:
  """Measures every entry in a process of its own; failures are recorded.

  Every worker is started and prepared first; then each of
  ``config.rounds`` rounds times one chunk of every metric of every entry,
  metric by metric (in reverse order every other round), so that the
  entries compared on one metric see the machine in nearly the same state.

  Returns:
    {'ours': {name: result}, 'torch': {name: result}}, a result being
    what ``prepare_ours``/``prepare_torch`` give plus 'ms': {metric: median
    milliseconds over all rounds}, 'round_ms': {metric: [the median of each
    round]}, 'samples' (how many) and 'startup_s' (the worker's import,
    compilation and checks), or {'error': text}.
  """
  results = {impl: {} for impl in IMPLEMENTATIONS}
  workers = []
  with tempfile.TemporaryDirectory() as tmp:
    tmp = pathlib.Path(tmp)
    config_path = tmp / 'config.json'
    config_path.write_text(config.to_json())
    try:
      for impl in IMPLEMENTATIONS:
        for name, entry in config[impl].items():
          try:
            worker = EntryProcess(impl, name, entry, config_path, tmp)
          except WorkerFailed as error:
            results[impl][name] = {'error': str(error)}
            print(f'{impl}/{name}: failed: '
                  + ', '.join(str(error).splitlines()[-2:]))
            continue
          workers.append(worker)
          print(f'{worker.key}: ready in {worker.startup_s:.0f} s')
      # rounds[key][r][metric]: the samples of round r.
      rounds = {w.key: [] for w in workers}
      order = _timing_order(workers)
      with tqdm.tqdm(total=config.rounds * len(order), desc='timing',
                     unit='chunk') as progress:
        for round_index in range(config.rounds):
          for key in rounds:
            rounds[key].append({})
          for worker, metric in (order[::-1] if round_index % 2 else order):
            if worker.key in rounds:
              try:
                rounds[worker.key][-1][metric] = worker.time(metric)
              except WorkerFailed as error:
                del rounds[worker.key]
                results[worker.impl][worker.name] = {'error': str(error)}
            progress.update()
    finally:
      for worker in workers:
        worker.close()
    for worker in workers:
      if worker.key in rounds:
        result = json.loads(worker.output.read_text())
        samples = {m: sum((r[m] for r in rounds[worker.key]), [])
                   for m in worker.metrics}
        per_round = [_entry_ms(config, r) for r in rounds[worker.key]]
        result.update(
            ms=_entry_ms(config, samples),
            round_ms={m: [r[m] for r in per_round] for m in worker.metrics},
            samples={m: len(v) for m, v in samples.items()},
            startup_s=worker.startup_s)
        results[worker.impl][worker.name] = result
  return results


def fastest_reference(config: ml_collections.ConfigDict,
                      results: dict) -> dict:
  """{dtype: {metric: {'entry', 'ms'}}}: the fastest torch entry for each."""
  reference = {}
  for name, result in results['torch'].items():
    best = reference.setdefault(config.torch[name].dtype, {})
    for metric, ms in result.get('ms', {}).items():
      if metric not in best or ms < best[metric]['ms']:
        best[metric] = dict(entry=f'torch/{name}', ms=ms)
  return reference


def _tracking_metric(metric: str) -> str:
  """The reference metric for ours: track{S} for scan{S} and batch{S}."""
  return metric.replace('scan', 'track').replace('batch', 'track')


def speedups(config: ml_collections.ConfigDict, results: dict,
             reference: dict) -> dict:
  """{ours entry: {metric: {'median', 'low', 'high'}}} (> 1: ours faster).

  The reference's time over ours, round by round (entries timed next to
  each other), then the median, lowest and highest over the rounds.
  ``scan{S}`` and ``batch{S}`` are compared with the reference's
  ``track{S}``.
  """
  ratios = {}
  for name, result in results['ours'].items():
    best = reference.get(config.ours[name].dtype, {})
    for metric, ours in result.get('round_ms', {}).items():
      ref = best.get(_tracking_metric(metric))
      if ref:
        impl, ref_name = ref['entry'].split('/')
        theirs = results[impl][ref_name]['round_ms'][_tracking_metric(metric)]
        per_round = np.divide(theirs, ours)
        ratios.setdefault(name, {})[metric] = {
            'median': round(float(np.median(per_round)), 3),
            'low': round(float(per_round.min()), 3),
            'high': round(float(per_round.max()), 3)}
  return ratios


def box_differences(config: ml_collections.ConfigDict,
                    results: dict) -> dict:
  """{impl/name: {scales: largest |box - box of config.box_reference|}}."""
  impl, name = config.box_reference.split('/')
  base_boxes = results[impl].get(name, {}).get('boxes', {})
  differences = {}
  for impl in IMPLEMENTATIONS:
    for name, result in results[impl].items():
      for scales, tracked in result.get('boxes', {}).items():
        if scales in base_boxes:
          count = min(len(tracked), len(base_boxes[scales]))
          difference = np.abs(np.subtract(tracked[:count],
                                          base_boxes[scales][:count]))
          differences.setdefault(f'{impl}/{name}', {})[scales] = round(
              float(difference.max()), 4)
  return differences


def run(config: ml_collections.ConfigDict) -> dict:
  """Measures everything, writes the JSON record to config.output.

  Returns:
    The record: date, machine, versions, git revision, config, every
    entry's numbers ('results'), the reference, the speed-ups and the box
    differences.
  """
  results = measure_all(config)
  reference = fastest_reference(config, results)
  record = records.benchmark_record(
      'speed', config, ('jax', 'jaxlib', 'flax', 'optax', 'torch', 'numpy'),
      machine_info=dict(records.machine(), cuda=torch.cuda.get_device_name()
                        if torch.cuda.is_available() else None),
      results=results, reference=reference,
      speedups=speedups(config, results, reference),
      box_max_abs_diff=box_differences(config, results))
  records.write_json(config.output, record)
  return record


def summary_lines(record: dict) -> list[str]:
  """The table of milliseconds, the speed-ups and the box differences."""
  measured = {m for impl in IMPLEMENTATIONS
              for r in record['results'][impl].values()
              for m in r.get('ms', {})}
  scales = sorted({int(m[5:]) for m in measured if m.startswith('track')})
  order = ['init', *[f'{kind}{s}' for s in scales
                      for kind in ('track', 'scan', 'batch')], 'train']
  metrics = [m for m in order if m in measured]
  width = max(len(f'{i}/{n}') for i in IMPLEMENTATIONS
              for n in record['results'][i]) + 2
  lines = [f'{"ms":<{width}}' + ''.join(f'{m:>9}' for m in metrics)
           + '  box diff px']
  for impl in IMPLEMENTATIONS:
    for name, result in record['results'][impl].items():
      key = f'{impl}/{name}'
      if 'error' in result:
        lines.append(f'{key:<{width}}failed')
        continue
      cells = ''.join(f'{result["ms"][m]:>9.1f}' if m in result['ms']
                      else f'{"-":>9}' for m in metrics)
      diffs = record['box_max_abs_diff'].get(key, {})
      lines.append(f'{key:<{width}}{cells}  ' + ' '.join(
          f'{d:.3f}' for d in diffs.values()))
  lines.append('speed-up over the fastest torch entry of the same dtype'
               ' (> 1: ours faster), median of the rounds (lowest-highest):')
  for name, ratios in record['speedups'].items():
    dtype = record['config']['ours'][name]['dtype']
    reference = record['reference'][dtype]
    lines.append(f'  ours/{name} ({dtype}): ' + ', '.join(
        f'{m} x{r["median"]:.2f} ({r["low"]:.2f}-{r["high"]:.2f},'
        f' {reference[_tracking_metric(m)]["entry"]})'
        for m, r in ratios.items()))
  for name, result in record['results']['ours'].items():
    for scales, diff in result.get('batch_box_diff', {}).items():
      lines.append(f'ours/{name}: boxes of batch{scales} differ from'
                   f' track{scales} by up to {diff:.3f} px')
  return lines


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  if _WORKER.value:
    config = ml_collections.ConfigDict(
        json.loads(pathlib.Path(_WORKER_CONFIG.value).read_text()))
    # Replies go to the real stdout; anything else printed goes to stderr.
    replies = os.fdopen(os.dup(sys.stdout.fileno()), 'w')
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    serve(config, _WORKER.value, _WORKER_OUTPUT.value, sys.stdin, replies)
    return
  record = run(_CONFIG.value)
  print('\n'.join(summary_lines(record)))
  print(f'record: {_CONFIG.value.output}')


if __name__ == '__main__':
  app.run(main)
