"""Training and evaluation as several processes (siamfc_jax/distributed.py),
for real on one machine: 2 processes x 2 CPU devices joined through
jax.distributed (gloo collectives) against 1 process x 4 devices, a killed
process, a process started with the wrong process count or without its
coordinator, and 2 processes evaluating their shards into one report.

Each job is started with subprocess on a free port, and every wait is
bounded; leftover processes are killed.
"""

import json
import os
import pathlib
import re
import shlex
import signal
import socket
import subprocess
import sys
import time

import imageio.v3 as iio
import jax
import numpy as np
import orbax.checkpoint as ocp
import pytest
from absl import flags

from siamfc_jax import distributed
from siamfc_jax import train_lib
from siamfc_jax import validation
from siamfc_jax import xla
from siamfc_jax.configs import evaluate as evaluate_config
from siamfc_jax.configs import tiny

ROOT = pathlib.Path(__file__).resolve().parents[1]
# The global batch of 4 pairs over 4 devices; 4 steps, checkpoints at 2, 4.
OVERRIDES = ('--config.batch_size=4', '--config.pairs_per_epoch=8')
STEPS = 4
# Seconds without heartbeats after which the runtime stops the others
# (JAX's default: 100). Generous where every process should live (2 cores
# compiling for 4 processes can delay a heartbeat), short where one has
# died.
HEARTBEAT_S = 30
SHORT_HEARTBEAT_S = 5
# Any one job (JAX start-up, compilation, 4 steps) ends well within this.
JOB_TIMEOUT_S = 240

# The trained runs are module fixtures shared by the tests below; they stay
# on one xdist worker (setup.cfg: --dist loadgroup).
ON_SHARED_RUNS = pytest.mark.xdist_group('distributed_runs')


def test_flags_give_the_settings():
  flag_values = flags.FlagValues()
  settings = distributed.define_flags(flag_values)
  flag_values(['job', '--coordinator_address=hostA:1234',
               '--num_processes=2', '--process_id=1',
               '--heartbeat_timeout=7'])
  assert settings() == distributed.Settings(
      coordinator_address='hostA:1234', num_processes=2, process_id=1,
      initialization_timeout=300, heartbeat_timeout=7)
  flag_values.unparse_flags()
  flag_values(['job'])
  assert not settings().given


def test_the_cluster_environment_counts_the_processes():
  slurm = dict(SLURM_JOB_ID='7', SLURM_STEP_NODELIST='node[1-2]',
               SLURM_NTASKS='4', SLURM_PROCID='3', SLURM_LOCALID='1')
  assert distributed.launched_processes(slurm) == 4
  # Without a job step's node list, JAX does not detect SLURM either.
  del slurm['SLURM_STEP_NODELIST']
  assert distributed.launched_processes(slurm) == 1
  assert distributed.launched_processes(dict(
      OMPI_MCA_orte_hnp_uri='1;tcp://10.0.0.1:1', OMPI_COMM_WORLD_SIZE='2',
      OMPI_COMM_WORLD_RANK='0')) == 2
  assert distributed.launched_processes({}) == 1


@pytest.mark.parametrize('settings', [
    distributed.Settings(), distributed.Settings(num_processes=1),
    distributed.Settings(coordinator_address='hostA:1', num_processes=1,
                         process_id=0)])
def test_one_process_does_not_join_anything(settings):
  assert not distributed.initialize(settings, environ={})
  assert not jax.distributed.is_initialized()


@pytest.mark.parametrize('settings,message', [
    (distributed.Settings(num_processes=2, process_id=2),
     '--process_id=2 is not below --num_processes=2'),
    (distributed.Settings(coordinator_address='hostA', num_processes=2,
                          process_id=0), "'hostA': not host:port")])
def test_settings_that_do_not_fit_fail_before_joining(settings, message):
  with pytest.raises(distributed.DistributedError, match=message):
    distributed.initialize(settings, environ={})
  assert not jax.distributed.is_initialized()


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(('localhost', 0))
    return s.getsockname()[1]


def _train_command(tiny_data, workdir, *extra):
  data_dir, sequences_root = tiny_data
  return [sys.executable, '-m', 'experiments.train',
          f'--config={pathlib.Path(tiny.__file__)}',
          f'--config.data_dir={data_dir}',
          f'--config.sequences_root={sequences_root}', *OVERRIDES,
          f'--workdir={workdir}', *extra]


class _Job:
  """Processes started together, their output in files (no pipe fills)."""

  def __init__(self, commands, *, devices: int, logs: pathlib.Path):
    env = dict(os.environ, JAX_PLATFORMS='cpu', XLA_FLAGS=xla.merged_flags(
        os.environ.get('XLA_FLAGS', ''),
        [f'--xla_force_host_platform_device_count={devices}']))
    logs.mkdir(parents=True, exist_ok=True)
    self.logs = logs
    self.processes = []
    for i, command in enumerate(commands):
      with open(logs / f'{i}.out', 'wb') as out, \
          open(logs / f'{i}.err', 'wb') as err:
        self.processes.append(subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=out, stderr=err,
            close_fds=False))

  def stderr(self, i: int) -> str:
    return (self.logs / f'{i}.err').read_text(errors='replace')

  def stdout(self, i: int) -> str:
    return (self.logs / f'{i}.out').read_text(errors='replace')

  def wait(self, i: int, timeout: float) -> int:
    try:
      return self.processes[i].wait(timeout=timeout)
    except subprocess.TimeoutExpired:
      pytest.fail(f'process {i} still runs after {timeout:.0f} s:'
                  f' {self.stderr(i)[-3000:]}')

  def wait_all(self, timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    return [self.wait(i, max(deadline - time.monotonic(), 1))
            for i in range(len(self.processes))]

  def kill(self) -> None:
    for process in self.processes:
      if process.poll() is None:
        process.kill()
        process.wait(timeout=30)

  def succeed(self, timeout: float) -> None:
    """Waits for every process (killing what is left) and checks each
    ended with status 0."""
    try:
      codes = self.wait_all(timeout)
    finally:
      self.kill()
    for i, code in enumerate(codes):
      assert code == 0, f'process {i}: {self.stderr(i)[-3000:]}'


def _train(tiny_data, workdir, logs, *, processes: int, devices: int,
           extra=()) -> _Job:
  """Trains to the end as ``processes`` processes of ``devices`` devices."""
  port = _free_port()
  job = _Job([_train_command(
      tiny_data, workdir, *extra, *([
          f'--coordinator_address=localhost:{port}',
          f'--num_processes={processes}', f'--process_id={i}',
          f'--heartbeat_timeout={HEARTBEAT_S}'] if processes > 1 else []))
              for i in range(processes)], devices=devices, logs=logs)
  job.succeed(JOB_TIMEOUT_S)
  return job


def _checkpoint(workdir, step: int = STEPS):
  """The train state of a checkpoint, as numpy arrays."""
  path = pathlib.Path(workdir) / 'checkpoints' / str(step) / 'default'
  with ocp.PyTreeCheckpointer() as checkpointer:
    tree = checkpointer.metadata(path).item_metadata.tree
    restore = jax.tree.map(
        lambda _: ocp.RestoreArgs(restore_type=np.ndarray), tree)
    state = checkpointer.restore(
        path, args=ocp.args.PyTreeRestore(restore_args=restore))
  return {'params': state['params'], 'batch_stats': state['batch_stats']}


def _metrics(workdir):
  return [json.loads(line) for line in
          (pathlib.Path(workdir) / 'metrics.jsonl').read_text().splitlines()]


@pytest.fixture(scope='module')
def four_devices(tiny_data, tmp_path_factory):
  """The tiny config trained as 1 process x 4 devices."""
  workdir = tmp_path_factory.mktemp('four_devices')
  _train(tiny_data, workdir, workdir.parent / 'four_devices_logs',
         processes=1, devices=4)
  return workdir


@pytest.fixture(scope='module')
def two_processes(tiny_data, tmp_path_factory):
  """The same, as 2 processes x 2 devices, validating on the demo."""
  workdir = tmp_path_factory.mktemp('two_processes')
  job = _train(tiny_data, workdir, workdir.parent / 'two_processes_logs',
               processes=2, devices=2,
               extra=["--config.val_videos=('demo',)"])
  return workdir, job


# The 2 x 2 run differs from the 1 x 4 run only in how the gradients are
# summed over devices (gloo between the processes); per-device work is the
# same. Measured on an AMD EPYC (2 cores), after 4 steps: each leaf within
# 8.2e-4 of its own update's largest magnitude (conv2's kernel, and the BN
# scales, whose difference is one float32 step of 1.0), the losses within
# 1.3e-7 (relative). A learning rate 1% higher in the 2 x 2 run moves bn1's
# bias by 1.0e-2 of its update; a batch assembled from the wrong pairs, by
# ~100%. The biases of the convolutions before BatchNorm have a true
# gradient of zero and get only rounding noise (updates ~1e-11).
UPDATE_RTOL = 5e-3
LOSS_RTOL = 1e-5
NOISE_ONLY = {f'conv{i}' for i in range(1, 5)}


@pytest.mark.slow
@ON_SHARED_RUNS
def test_two_processes_train_like_one_with_four_devices(four_devices,
                                                        two_processes):
  workdir, job = two_processes
  config = tiny.get_config()
  tx = train_lib.create_optimizer(config, train_lib.steps_per_epoch(config))
  initial = jax.device_get(train_lib.create_train_state(
      jax.random.key(config.seed), config=config, tx=tx))
  initial = {'params': initial.params, 'batch_stats': initial.batch_stats}
  want, got = _checkpoint(four_devices), _checkpoint(workdir)
  assert jax.tree.structure(want) == jax.tree.structure(got)
  for (path, before), after, have in zip(
      jax.tree_util.tree_leaves_with_path(initial), jax.tree.leaves(want),
      jax.tree.leaves(got)):
    name = jax.tree_util.keystr(path)
    if path[-2].key in NOISE_ONLY and path[-1].key == 'bias':
      np.testing.assert_allclose(have, after, rtol=0, atol=1e-9,
                                 err_msg=name)
      continue
    scale = np.abs(after - before).max()
    assert scale > 0, name
    np.testing.assert_allclose(have, after, rtol=0, atol=UPDATE_RTOL * scale,
                               err_msg=name)

  # Process 0 alone logs: one line per step, and one validation.
  lines = _metrics(workdir)
  assert [line['step'] for line in lines] == [1, 2, 3, 4, 4]
  assert 'val/success_auc' in lines[-1]
  losses = [line['loss'] for line in lines[:STEPS]]
  np.testing.assert_allclose(
      losses, [line['loss'] for line in _metrics(four_devices)],
      rtol=LOSS_RTOL)
  assert len(json.loads((workdir / 'run.json').read_text())['starts']) == 1
  assert len(list((workdir / 'tensorboard').iterdir())) == 1
  assert (workdir / 'weights.msgpack').stat().st_size > 1_000_000
  assert 'validation: success AUC' in job.stdout(0)
  assert 'validation' not in job.stdout(1)


@pytest.mark.slow
@ON_SHARED_RUNS
def test_a_killed_process_stops_the_other_and_a_restart_resumes(
    tiny_data, two_processes, tmp_path):
  workdir = tmp_path / 'run'

  def start(logs):
    port = _free_port()
    return _Job([_train_command(
        tiny_data, workdir, f'--coordinator_address=localhost:{port}',
        '--num_processes=2', f'--process_id={i}',
        f'--heartbeat_timeout={HEARTBEAT_S}') for i in range(2)],
                devices=2, logs=tmp_path / logs)

  job = start('first')
  try:
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while not (workdir / 'checkpoints' / '2').is_dir():
      for i, process in enumerate(job.processes):
        assert process.poll() is None, job.stderr(i)[-3000:]
      assert time.monotonic() < deadline, 'no checkpoint in time'
      time.sleep(0.05)
    # Process 0 runs the coordinator: process 1 loses it at once. (The
    # heartbeat path, a process other than 0 gone, is the test below's.)
    job.processes[0].send_signal(signal.SIGKILL)
    code = job.wait(1, 60)
  finally:
    job.kill()
  assert code != 0
  assert _stopped_by_the_runtime(job.stderr(1), 1), job.stderr(1)[-3000:]
  assert not (workdir / 'weights.msgpack').exists()

  job = start('second')
  try:
    codes = job.wait_all(JOB_TIMEOUT_S)
  finally:
    job.kill()
  assert codes == [0, 0], job.stderr(0)[-3000:] + job.stderr(1)[-3000:]
  assert 'Resuming from step' in job.stderr(0)
  starts = json.loads((workdir / 'run.json').read_text())['starts']
  assert len(starts) == 2 and starts[1]['step'] >= 2
  # The same device layout: the same summation orders, bit for bit.
  want, got = _checkpoint(two_processes[0]), _checkpoint(workdir)
  for (path, a), b in zip(jax.tree_util.tree_leaves_with_path(want),
                          jax.tree.leaves(got)):
    np.testing.assert_array_equal(b, a, err_msg=jax.tree_util.keystr(path))
  assert ([line['loss'] for line in _metrics(workdir)]
          == [line['loss'] for line in _metrics(two_processes[0])
              if 'loss' in line])


def _stopped_by_the_runtime(stderr: str, process: int) -> bool:
  """Whether JAX's runtime stopped a process for a lost peer, or a failed
  collective did first (train_lib reports it)."""
  return ('detected fatal errors' in stderr or
          f'error: process {process} of 2: a computation failed' in stderr)


@pytest.mark.slow
def test_a_process_with_the_wrong_count_fails_with_one_error(tiny_data,
                                                             tmp_path):
  port = _free_port()
  job = _Job([_train_command(
      tiny_data, tmp_path / 'run', f'--coordinator_address=localhost:{port}',
      f'--num_processes={count}', f'--process_id={i}',
      f'--heartbeat_timeout={SHORT_HEARTBEAT_S}')
              for i, count in enumerate((2, 3))], devices=2,
             logs=tmp_path / 'logs')
  try:
    code = job.wait(1, JOB_TIMEOUT_S)
    start = time.monotonic()
    # Process 0 joined a job whose process 1 left at once: it stops too,
    # when process 1's heartbeats are missed.
    other = job.wait(0, SHORT_HEARTBEAT_S + 60)
    stopped_s = time.monotonic() - start
  finally:
    job.kill()
  assert code == 1
  err = job.stderr(1)
  assert err.strip().splitlines()[-1] == (
      f'error: --num_processes=3, but the job at localhost:{port} has 2'
      ' processes: start every process with the same --num_processes')
  assert 'Traceback' not in err
  assert other != 0
  assert _stopped_by_the_runtime(job.stderr(0), 0), job.stderr(0)[-3000:]
  print(f'process 0 stopped {stopped_s:.1f} s after process 1 left')


# Evaluation as several processes: each tracks its shard of the sequences,
# process 0 reports once all are done.


def _otb_tree(root: pathlib.Path, count: int = 3) -> pathlib.Path:
  """``count`` OTB sequence folders: a bright square moving on noise.

  The second is the longest, so that process 1's shard ends last.
  """
  rng = np.random.default_rng(0)
  for s in range(count):
    folder = root / f'Seq{s}'
    (folder / 'img').mkdir(parents=True)
    boxes = []
    for t in range(40 if s == 1 else 4):
      frame = rng.integers(0, 80, (96, 128, 3), np.uint8)
      x, y = 30 + t + s, 30 + t % 10
      frame[y:y + 20, x:x + 24] = 230
      iio.imwrite(folder / 'img' / f'{t + 1:08d}.jpg', frame, quality=95)
      boxes.append(f'{x + 1},{y + 1},24,20')
    (folder / 'groundtruth_rect.txt').write_text('\n'.join(boxes) + '\n')
  return root


def _evaluate_command(root, results, *extra):
  return [sys.executable, '-m', 'experiments.evaluate', '--benchmark=otb',
          f'--root={root}', f'--results={results}',
          "--config.trackers=('siamfc','ncc')", '--config.progress=False',
          '--config.plot_dpi=40', *extra]


def _without_speed(summary):
  if isinstance(summary, dict):
    return {k: _without_speed(v) for k, v in summary.items()
            if 'fps' not in k}
  return summary


def test_two_processes_evaluate_their_shards_into_one_report(tmp_path):
  root = _otb_tree(tmp_path / 'otb')
  port = _free_port()
  job = _Job([_evaluate_command(
      root, tmp_path / 'two', f'--coordinator_address=localhost:{port}',
      '--num_processes=2', f'--process_id={i}',
      f'--heartbeat_timeout={HEARTBEAT_S}', '--config.progress=True')
              for i in range(2)],
             devices=1, logs=tmp_path / 'logs')
  job.succeed(JOB_TIMEOUT_S)
  assert 'shard 1 of 2 done; process 0 writes the report' in job.stderr(1)
  # Each tracker's progress bar counts the process's own shard: Seq0 and
  # Seq2 in process 0, Seq1 in process 1.
  for i, count in ((0, 2), (1, 1)):
    for tracker in ('siamfc', 'ncc'):
      assert re.search(rf'{tracker}: 100%.*\b{count}/{count} ',
                       job.stderr(i)), job.stderr(i)[-3000:]
  assert 'report.md' in job.stdout(0) and not job.stdout(1).strip()

  _Job([_evaluate_command(root, tmp_path / 'one')], devices=1,
       logs=tmp_path / 'logs_one').succeed(JOB_TIMEOUT_S)
  two = json.loads((tmp_path / 'two' / 'summary.json').read_text())
  whole = json.loads((tmp_path / 'one' / 'summary.json').read_text())
  assert not two['incomplete'] and sorted(two['trackers']) == ['ncc',
                                                               'siamfc']
  assert _without_speed(two) == _without_speed(whole)
  for tracker in ('siamfc', 'ncc'):
    for s in range(3):
      assert ((tmp_path / 'two' / tracker / f'Seq{s}.txt').read_bytes() ==
              (tmp_path / 'one' / tracker / f'Seq{s}.txt').read_bytes())


def test_a_process_without_its_coordinator_fails_with_one_error(tmp_path):
  job = _Job([_evaluate_command(
      _otb_tree(tmp_path / 'otb', count=1), tmp_path / 'results',
      f'--coordinator_address=localhost:{_free_port()}', '--num_processes=2',
      '--process_id=1', '--initialization_timeout=3')], devices=1,
             logs=tmp_path / 'logs')
  try:
    code = job.wait(0, JOB_TIMEOUT_S)
  finally:
    job.kill()
  stderr = job.stderr(0).strip()
  assert code == 1, stderr
  assert stderr.splitlines() == [stderr.splitlines()[0]], stderr
  assert stderr.startswith('error: --coordinator_address=localhost:')
  assert 'no answer within 3 s' in stderr


def test_a_shard_other_than_the_process_is_refused():
  config = evaluate_config.get_config()
  config.root = '.'
  validation.check_evaluate(config, process=(1, 2))  # Unset: process's.
  config.shard_index, config.shard_count = 1, 2
  validation.check_evaluate(config, process=(1, 2))
  for index, count, field in ((0, 2, 'shard_index=0'),
                              (1, 3, 'shard_count=3')):
    config.shard_index, config.shard_count = index, count
    with pytest.raises(validation.ConfigError, match=field):
      validation.check_evaluate(config, process=(1, 2))


def test_the_slurm_script_commands_parse(tmp_path):
  script = (ROOT / 'experiments' / 'vid_slurm.sbatch').read_text()
  assert '#SBATCH --ntasks-per-node' in script
  commands = [shlex.split(line.replace('$WORKDIR', str(tmp_path)).replace(
      '$GOT10K_VAL', str(tmp_path)))[1:] for line in script.splitlines()
              if line.startswith('srun python -m experiments.')]
  assert [c[2] for c in commands] == ['experiments.train',
                                      'experiments.evaluate']
  for command in commands:
    # Parsing loads the config file and applies every --config. override.
    check = subprocess.run(
        [sys.executable, '-c', 'import importlib, sys; from absl import'
         ' flags; importlib.import_module(sys.argv[1]); flags.FLAGS(['
         'sys.argv[1], *sys.argv[2:]]); print(flags.FLAGS.config.to_json())',
         *command[2:]], cwd=ROOT, capture_output=True, text=True,
        timeout=JOB_TIMEOUT_S, check=False)
    assert check.returncode == 0, check.stderr[-3000:]
    config = json.loads(check.stdout.strip().splitlines()[-1])
    if command[2] == 'experiments.evaluate':
      assert config['track']['checkpoint'] == f'{tmp_path}/weights.msgpack'
      assert config['trackers'] == ['siamfc']
