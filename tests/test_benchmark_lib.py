"""Tests of experiments/benchmark_lib: timing in turns, the statistics and
the worker protocol (without processes; tests/test_benchmark_speed.py runs
real workers)."""

import io
import json
import types

import ml_collections
import pytest

from experiments.benchmark_lib import timing
from experiments.benchmark_lib import workers


def test_in_turns_reverses_every_other_round():
  assert list(timing.in_turns(['a', 'b', 'c'], 3)) == [
      (0, 'a'), (0, 'b'), (0, 'c'), (1, 'c'), (1, 'b'), (1, 'a'),
      (2, 'a'), (2, 'b'), (2, 'c')]


def test_ratios_are_paired_round_by_round():
  # The rounds' ratios are 2, 1.5 and 4; the ratio of the medians (3 / 2)
  # would pair times measured in different states of the machine.
  assert timing.paired_ratios([2.0, 3.0, 8.0], [1.0, 2.0, 2.0]) == {
      'median': 2.0, 'low': 1.5, 'high': 4.0}


def test_median_ms():
  assert timing.median_ms([0.001, 0.0030004, 0.0020004]) == 2.0
  assert timing.median_ms([0.5, 1.0]) == 750.0


def test_repeat_times_every_call():
  calls = []
  samples = timing.repeat(lambda: calls.append(1), 4)
  assert len(samples) == len(calls) == 4
  assert all(s >= 0 for s in samples)


def test_serve_answers_each_request_with_one_chunk(tmp_path):
  chunks = iter([[0.1, 0.2], [0.3]])

  def prepare(config, name):
    assert name == 'fast' and config.rounds == 2
    return {'checked': name}, {'init': lambda: next(chunks),
                               'track3': lambda: [0.5]}

  replies = io.StringIO()
  workers.serve({'ours': prepare}, ml_collections.ConfigDict({'rounds': 2}),
                'ours/fast', str(tmp_path / 'out.json'),
                ['init\n', 'track3\n', 'init\n'], replies)
  assert [json.loads(line) for line in replies.getvalue().splitlines()] == [
      ['init', 'track3'], [0.1, 0.2], [0.5], [0.3]]
  assert json.loads((tmp_path / 'out.json').read_text()) == {
      'checked': 'fast'}


def test_timing_order_is_metric_by_metric():
  # What _timing_order reads of an EntryProcess.
  a = types.SimpleNamespace(name='a', metrics=['init', 'track3', 'train'])
  b = types.SimpleNamespace(name='b', metrics=['init', 'train'])
  order = workers._timing_order([a, b])  # pylint: disable=protected-access
  assert [(w.name, m) for w, m in order] == [
      ('a', 'init'), ('b', 'init'), ('a', 'track3'), ('a', 'train'),
      ('b', 'train')]


def test_a_worker_that_fails_at_start_up_says_why(tmp_path):
  with pytest.raises(workers.WorkerFailed, match='No module named'):
    workers.EntryProcess('experiments.no_such_main', 'ours', 'x', {},
                         tmp_path / 'config.json', tmp_path)
