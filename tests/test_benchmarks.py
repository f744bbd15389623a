"""LaSOT, TrackingNet, UAV123/UAV20L/UAV123@10fps, NfS and TC128.

Each benchmark is read from a generated tree in its real layout (tiny
JPEGs whose gray level follows the frame number, so the frames read can be
told apart), checked against the got10k toolkit's readers where they work
(requirements-vot.txt; skipped otherwise), summarised from written result
files, and, where ../shared has a sample, read from the real data.
"""

import json
import pathlib
import shutil
import zipfile

import ml_collections
import numpy as np
import PIL.Image
import pytest

from siamfc_jax import sequences
from siamfc_jax import tracker as tracker_lib
from siamfc_jax.configs import evaluate as evaluate_config
from siamfc_jax.evaluation import lasot
from siamfc_jax.evaluation import nfs
from siamfc_jax.evaluation import ope
from siamfc_jax.evaluation import otb
from siamfc_jax.evaluation import runner
from siamfc_jax.evaluation import tc128
from siamfc_jax.evaluation import trackingnet
from siamfc_jax.evaluation import uav123

SHARED = pathlib.Path(__file__).resolve().parents[2] / 'shared'
SHARED_LASOT = SHARED / 'data' / 'datasets' / 'LaSOT'
SHARED_WAKEBOARD = SHARED / 'data' / 'sequences' / 'uav123_10fps_wakeboard7'


def write_frame(path: pathlib.Path, level: int, size=(16, 12)) -> None:
  path.parent.mkdir(parents=True, exist_ok=True)
  PIL.Image.new('L', size, color=level % 256).save(path, quality=95)


def frame_level(frame) -> int:
  return int(round(float(np.mean(frame))))


def write_lines(path: pathlib.Path, lines) -> None:
  path.parent.mkdir(parents=True, exist_ok=True)
  path.write_text(''.join(f'{line}\n' for line in lines))


def boxes_for(count: int, shift: float = 0.0) -> np.ndarray:
  frames = np.arange(count, dtype=np.float64)[:, None]
  return np.concatenate([1 + frames + shift, 2 + frames, np.full(
      (count, 1), 5.0), np.full((count, 1), 4.0)], axis=1)


def box_lines(boxes) -> list[str]:
  return [','.join(f'{v:g}' for v in box) for box in boxes]


def write_result(benchmark, results_dir, tracker, entry, boxes):
  benchmark.write(results_dir, tracker, entry, tracker_lib.TrackResult(
      np.asarray(boxes, np.float64), np.full(len(boxes), np.nan),
      np.full(len(boxes), 0.01)))


def is_png(path: pathlib.Path) -> bool:
  return path.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


def options(group, **values) -> ml_collections.ConfigDict:
  """An evaluation config with only ``config.<group>.<key> = value``."""
  return ml_collections.ConfigDict({group: values})


def need_got10k(module: str):
  return pytest.importorskip(f'got10k.{module}', reason='the got10k toolkit'
                             ' (requirements-vot.txt) is not installed',
                             exc_type=ImportError)


# LaSOT.


def lasot_sequence(folder: pathlib.Path, count: int, *, occlusion=(),
                   out_of_view=(), extra_frames: int = 0) -> np.ndarray:
  for frame in range(1, count + extra_frames + 1):
    write_frame(folder / 'img' / f'{frame:08d}.jpg', 10 * frame)
  boxes = boxes_for(count)
  write_lines(folder / 'groundtruth.txt', box_lines(boxes))
  for name, frames in (('full_occlusion', occlusion),
                       ('out_of_view', out_of_view)):
    flags = ['1' if i in frames else '0' for i in range(count)]
    write_lines(folder / f'{name}.txt', [','.join(flags)])
  write_lines(folder / 'nlp.txt', ['a generated target'])
  return boxes


@pytest.fixture
def lasot_root(tmp_path):
  root = tmp_path / 'LaSOT'
  lasot_sequence(root / 'airplane' / 'airplane-1', 6, occlusion=(2,),
                 out_of_view=(2, 3))
  lasot_sequence(root / 'airplane' / 'airplane-2', 4)  # Training split.
  lasot_sequence(root / 'zebra' / 'zebra-10', 5, extra_frames=2)
  return root


def test_lasot_split_tables():
  test = lasot.split_names('test')
  assert len(test) == 280 and len(set(test)) == 280
  assert len(lasot.split_names('train')) == 1120
  assert sorted(lasot.split_names('all')) == sorted(
      test + lasot.split_names('train'))
  assert len(lasot.TEST_SPLIT) == 70
  assert all(len(n) == 4 for n in lasot.TEST_SPLIT.values())
  with pytest.raises(lasot.base.EvaluationError, match='unknown LaSOT split'):
    lasot.split_names('val')
  datasets = need_got10k('datasets')
  splits = json.loads(
      (pathlib.Path(datasets.__file__).parent / 'lasot.json').read_text())
  assert sorted(test) == sorted(splits['test'])
  assert sorted(lasot.split_names('train')) == sorted(splits['train'])


def test_lasot_reads_its_layout_and_splits(lasot_root, tmp_path):
  entries = lasot.BENCHMARK.load(lasot_root)  # The test split.
  assert [e.name for e in entries] == ['airplane-1', 'zebra-10']
  first = entries[0]
  assert first.num_frames == 6
  np.testing.assert_array_equal(first.groundtruth, boxes_for(6))
  np.testing.assert_array_equal(first.label('full_occlusion'),
                                [0, 0, 1, 0, 0, 0])
  np.testing.assert_array_equal(first.label('out_of_view'),
                                [0, 0, 1, 1, 0, 0])
  np.testing.assert_array_equal(first.label('absent'), [0, 0, 1, 1, 0, 0])
  assert [frame_level(f) for f in first.sequence] == [10, 20, 30, 40, 50,
                                                      60]
  # zebra-10 has two frames past its last box (as monkey-17): not tracked.
  assert entries[1].num_frames == 5
  assert len(list(entries[1].sequence)) == 5

  train = lasot.BENCHMARK.load(lasot_root,
                               config=options('lasot', split='train'))
  assert [e.name for e in train] == ['airplane-2']
  every = lasot.BENCHMARK.load(
      lasot_root, config=options('lasot', split='all'),
      names=('zebra-10', 'airplane-2'), max_frames=3)
  assert [(e.name, e.num_frames, len(e.label('absent'))) for e in every] == [
      ('airplane-2', 3, 3), ('zebra-10', 3, 3)]

  # The test split's own archive: sequence folders without class folders.
  flat = tmp_path / 'LaSOTTest'
  shutil.copytree(lasot_root / 'airplane' / 'airplane-1',
                  flat / 'airplane-1')
  assert [e.name for e in lasot.BENCHMARK.load(flat)] == ['airplane-1']


def test_lasot_bad_trees_are_clear_errors(lasot_root, tmp_path):
  with pytest.raises(sequences.SequenceError, match='no sequence of the'
                     ' LaSOT test split'):
    lasot.BENCHMARK.load(tmp_path)
  with pytest.raises(sequences.SequenceError, match='no sequence cat-1'):
    lasot.BENCHMARK.load(lasot_root, names=('cat-1',))
  flags = lasot_root / 'airplane' / 'airplane-1' / 'out_of_view.txt'
  flags.write_text('0,0,1\n')
  with pytest.raises(sequences.SequenceError, match='3 flags for 6 boxes'):
    lasot.BENCHMARK.load(lasot_root)
  (lasot_root / 'zebra' / 'zebra-10' / 'img' / '00000007.jpg').unlink()
  for frame in (6, 5):
    (lasot_root / 'zebra' / 'zebra-10' / 'img' / f'{frame:08d}.jpg').unlink()
  with pytest.raises(sequences.SequenceError, match='5 boxes for 4 frames'):
    lasot.load_sequence(lasot_root / 'zebra' / 'zebra-10')


def test_lasot_summary_per_sequence_class_and_overall(lasot_root, tmp_path):
  entries = lasot.BENCHMARK.load(lasot_root)
  results = tmp_path / 'results'
  perfect = entries[0].groundtruth.copy()
  perfect[2:4] += [100, 100, 0, 0]  # Wrong only where the target is absent.
  write_result(lasot.BENCHMARK, results, 'ncc', entries[0], perfect)
  write_result(lasot.BENCHMARK, results, 'ncc', entries[1],
               entries[1].groundtruth)
  assert lasot.BENCHMARK.is_complete(results, 'ncc', entries[0])
  summary = lasot.BENCHMARK.summarize(results, 'ncc', entries, None)
  rows = summary['sequences']
  # airplane-1: 4 of 6 frames kept, all perfect; absent ones are failures.
  assert rows['airplane-1']['precision_20px'] == pytest.approx(4 / 6)
  assert rows['airplane-1']['success_auc'] == pytest.approx(4 / 6 * 20 / 21)
  assert rows['airplane-1']['normalized_precision'] == pytest.approx(4 / 6)
  assert rows['zebra-10']['normalized_precision_auc'] == pytest.approx(1.0)
  overall = summary['overall']
  assert overall['precision_20px'] == pytest.approx((4 / 6 + 1) / 2)
  assert len(overall['normalized_precision_curve']) == 51
  assert overall['fps'] == pytest.approx(100.0)
  assert summary['classes']['airplane']['sequences'] == 1
  assert summary['classes']['zebra']['precision_20px'] == pytest.approx(1.0)
  plots = lasot.BENCHMARK.plots(
      {'trackers': {'ncc': summary}}, tmp_path, dpi=40, config=None)
  assert plots == ['success_plot.png', 'precision_plot.png',
                   'normalized_precision_plot.png']
  assert all((tmp_path / name).stat().st_size > 0 for name in plots)


@pytest.mark.shared
def test_lasot_shared_sample():
  if not SHARED_LASOT.is_dir():
    pytest.skip(f'{SHARED_LASOT} not found: needs the shared LaSOT sample'
                ' (../shared/data/datasets/LaSOT/airplane/airplane-1)')
  [entry] = lasot.BENCHMARK.load(SHARED_LASOT)
  assert (entry.name, entry.num_frames) == ('airplane-1', 500)
  np.testing.assert_array_equal(entry.groundtruth[:2],
                                [[367, 101, 41, 16], [366, 103, 45, 16]])
  for name in ('full_occlusion', 'out_of_view', 'absent'):
    assert entry.label(name).shape == (500,)
  assert entry.label('absent').sum() == 0  # None in its first 500 frames.
  assert next(iter(entry.sequence)).shape == (360, 640, 3)


# TrackingNet.


def trackingnet_video(chunk: pathlib.Path, name: str, count: int,
                      annotated: bool) -> np.ndarray:
  for frame in range(count):
    write_frame(chunk / 'frames' / name / f'{frame}.jpg', 10 * frame)
  boxes = boxes_for(count)
  write_lines(chunk / 'anno' / f'{name}.txt',
              box_lines(boxes if annotated else boxes[:1]))
  return boxes


@pytest.fixture
def trackingnet_root(tmp_path):
  root = tmp_path / 'TrackingNet'
  trackingnet_video(root / 'TEST', 'video_b', 12, annotated=False)
  trackingnet_video(root / 'TEST', 'video_a', 3, annotated=False)
  trackingnet_video(root / 'TRAIN_0', 'train_x', 4, annotated=True)
  trackingnet_video(root / 'TRAIN_3', 'train_y', 5, annotated=True)
  return root


def test_trackingnet_reads_chunks(trackingnet_root):
  test = trackingnet.BENCHMARK.load(trackingnet_root)
  assert [e.name for e in test] == ['video_a', 'video_b']
  video = test[1]
  # Frames in number order: 10.jpg comes after 9.jpg, not after 1.jpg.
  assert [frame_level(f) for f in video.sequence] == [
      10 * i for i in range(12)]
  np.testing.assert_array_equal(video.groundtruth[0], boxes_for(1)[0])
  assert np.isnan(video.groundtruth[1:]).all()
  train = trackingnet.BENCHMARK.load(
      trackingnet_root, config=options('trackingnet', split='train'))
  assert [e.name for e in train] == ['train_x', 'train_y']
  np.testing.assert_array_equal(train[1].groundtruth, boxes_for(5))
  chosen = trackingnet.BENCHMARK.load(
      trackingnet_root, config=options('trackingnet', split='TRAIN_3'))
  assert [e.name for e in chosen] == ['train_y']
  chunk = trackingnet.BENCHMARK.load(trackingnet_root / 'TRAIN_0')
  assert [e.name for e in chunk] == ['train_x']
  with pytest.raises(sequences.SequenceError, match='TRAIN_5'):
    trackingnet.BENCHMARK.load(trackingnet_root, config=options(
        'trackingnet', split='TRAIN_0,TRAIN_5'))
  with pytest.raises(trackingnet.base.EvaluationError, match='unknown'):
    trackingnet.BENCHMARK.load(trackingnet_root, config=options(
        'trackingnet', split='val'))
  (trackingnet_root / 'TEST' / 'anno' / 'video_a.txt').write_text(
      '1,2,3,4\n1,2,3,4\n')
  with pytest.raises(sequences.SequenceError, match='2 boxes for 3 frames'):
    trackingnet.BENCHMARK.load(trackingnet_root)


def test_trackingnet_submission_zip_and_train_metrics(trackingnet_root,
                                                      tmp_path):
  test = trackingnet.BENCHMARK.load(trackingnet_root)
  results = tmp_path / 'test_results'
  for entry in test:
    write_result(trackingnet.BENCHMARK, results, 'siamfc', entry,
                 boxes_for(entry.num_frames, shift=0.25))
  summary = trackingnet.BENCHMARK.summarize(results, 'siamfc', test, None)
  assert 'success' not in summary['overall']  # No ground truth on TEST.
  assert summary['overall']['evaluated'] == 0
  assert trackingnet.BENCHMARK.plots({'trackers': {'siamfc': summary}},
                                     tmp_path, dpi=40, config=None) == []
  trackingnet.BENCHMARK.finish(results, {'trackers': {'siamfc': summary}})
  with zipfile.ZipFile(results / 'siamfc.zip') as archive:
    assert sorted(archive.namelist()) == ['video_a.txt', 'video_b.txt']
    lines = archive.read('video_b.txt').decode().split()
  assert len(lines) == 12
  np.testing.assert_allclose(
      [[float(v) for v in line.split(',')] for line in lines],
      boxes_for(12, shift=0.25), atol=0.005)

  train = trackingnet.BENCHMARK.load(
      trackingnet_root, config=options('trackingnet', split='train'))
  results = tmp_path / 'train_results'
  for entry in train:
    write_result(trackingnet.BENCHMARK, results, 'siamfc', entry,
                 entry.groundtruth)
  summary = trackingnet.BENCHMARK.summarize(results, 'siamfc', train, None)
  overall = summary['overall']
  # Perfect boxes: IoU 1 passes 20 of 21 points, errors 0 pass all.
  assert overall['success'] == pytest.approx(1 - 0.05 / 2)
  assert overall['precision'] == overall['normalized_precision'] == 1.0
  assert summary['sequences']['train_y']['success'] == pytest.approx(0.975)
  plots = trackingnet.BENCHMARK.plots({'trackers': {'siamfc': summary}},
                                      tmp_path, dpi=40, config=None)
  assert len(plots) == 3 and all((tmp_path / p).is_file() for p in plots)


# UAV123, UAV20L, UAV123@10fps.


def uav_tree(root: pathlib.Path, frames: str, anno: str, name: str, folder,
             first: int, last: int, nan_rows=()) -> np.ndarray:
  for frame in range(first, last + 1):
    write_frame(root / 'data_seq' / frames / folder / f'{frame:06d}.jpg',
                frame)
  boxes = boxes_for(last - first + 1)
  lines = box_lines(boxes)
  for row in nan_rows:
    lines[row] = 'NaN,NaN,NaN,NaN'
    boxes[row] = np.nan
  write_lines(root / 'anno' / anno / f'{name}.txt', lines)
  return boxes


def test_uav_tables():
  assert len(uav123.uav123_table()) == 123
  assert uav123.uav123_table()['bird1_2'] == ('bird1', 775, 1477)
  assert len(uav123.uav20l_table()) == 20
  assert uav123.uav20l_table()['person19'] == ('person19', 1, 4357)
  ten = uav123.uav123_10fps_table()
  # UAV123_10fps's configSeqs.m (no 30 fps bound is a multiple of 3).
  assert [ten[n] for n in ('bird1_2', 'uav1_3', 'wakeboard7', 'car4_s')] == [
      ('bird1', 259, 493), ('uav1', 825, 1157), ('wakeboard7', 1, 67),
      ('car4_s', 1, 277)]
  datasets = need_got10k('datasets')
  table = json.loads(
      (pathlib.Path(datasets.__file__).parent / 'uav123.json').read_text())
  for key, ours in (('UAV123', uav123.uav123_table()),
                    ('UAV20L', uav123.uav20l_table())):
    theirs = {n: (m['folder_name'], m['start_frame'], m['end_frame'])
              for n, m in table[key].items()}
    assert ours == theirs
    assert list(ours) == list(theirs)  # The same order.


def test_uav123_reads_ranges_and_matches_got10k(tmp_path):
  root = tmp_path / 'UAV123'
  uav_tree(root, 'UAV123', 'UAV123', 'uav6', 'uav6', 1, 109,
           nan_rows=(5, 6))
  for name in ('extra1', 'extra2', 'extra3'):
    (root / name).mkdir()  # got10k's reader wants more than 3 entries.
  [entry] = uav123.UAV123.load(root)
  assert (entry.name, entry.num_frames) == ('uav6', 109)
  assert [frame_level(f) for f in entry.sequence][:3] == [1, 2, 3]
  np.testing.assert_array_equal(entry.label('absent')[4:8],
                                [False, True, True, False])
  datasets = need_got10k('datasets')
  frames, anno = datasets.UAV123(str(root), version='UAV123')['uav6']
  assert len(frames) == entry.num_frames
  np.testing.assert_array_equal(anno, entry.groundtruth)


def test_uav123_split_sequence_and_10fps(tmp_path):
  root = tmp_path / 'UAV123_10fps'
  # bird1_2 at 10 fps: frames 259 to 493 of bird1's folder.
  uav_tree(root, 'UAV123_10fps', 'UAV123_10fps', 'bird1_2', 'bird1', 259,
           493)
  write_frame(root / 'data_seq' / 'UAV123_10fps' / 'bird1' / '000001.jpg', 0)
  [entry] = uav123.UAV123_10FPS.load(root)
  assert (entry.name, entry.num_frames) == ('bird1_2', 235)
  levels = [frame_level(f) for f in entry.sequence]
  assert (levels[0], levels[-1]) == (259 % 256, 493 % 256)
  (root / 'anno' / 'UAV123_10fps' / 'bird2.txt').write_text('1,2,3,4\n')
  with pytest.raises(sequences.SequenceError, match='bird2 not UAV123@10fps'):
    uav123.UAV123_10FPS.load(root)
  (root / 'anno' / 'UAV123_10fps' / 'bird2.txt').unlink()
  (root / 'data_seq' / 'UAV123_10fps' / 'bird1' / '000493.jpg').unlink()
  with pytest.raises(sequences.SequenceError, match='000493.jpg: not found'):
    uav123.UAV123_10FPS.load(root)
  with pytest.raises(sequences.SequenceError, match='anno/UAV20L'):
    uav123.UAV20L.load(root)


def test_uav_summary_counts_absent_frames(tmp_path):
  root = tmp_path / 'UAV123'
  uav_tree(root, 'UAV123', 'UAV123', 'uav6', 'uav6', 1, 109,
           nan_rows=range(100, 109))
  [entry] = uav123.UAV123.load(root)
  boxes = entry.groundtruth.copy()
  boxes[100:] = boxes[99]  # Whatever is tracked while the target is away.
  write_result(uav123.UAV123, tmp_path / 'results', 'ncc', entry, boxes)
  summary = uav123.UAV123.summarize(tmp_path / 'results', 'ncc', [entry],
                                    None)
  row = summary['sequences']['uav6']
  # 100 of 109 frames pass up to t = 0.95; the 9 absent frames pass every
  # precision threshold.
  assert row['success_auc'] == pytest.approx(100 / 109 * 20 / 21)
  assert row['precision_20px'] == pytest.approx(1.0)
  assert summary['overall']['success_auc'] == row['success_auc']


@pytest.mark.shared
def test_uav123_10fps_shared_wakeboard7(tmp_path):
  if not SHARED_WAKEBOARD.is_dir():
    pytest.skip(f'{SHARED_WAKEBOARD} not found: needs the shared sequences'
                ' (../shared/data/sequences)')
  # The shared copy, linked (not copied) into UAV123@10fps's layout.
  root = tmp_path / 'UAV123_10fps'
  folder = root / 'data_seq' / 'UAV123_10fps' / 'wakeboard7'
  folder.mkdir(parents=True)
  for i, path in enumerate(sorted((SHARED_WAKEBOARD / 'img').glob('*.jpg')),
                           start=1):
    (folder / f'{i:06d}.jpg').symlink_to(path)
  anno = root / 'anno' / 'UAV123_10fps' / 'wakeboard7.txt'
  anno.parent.mkdir(parents=True)
  anno.symlink_to(SHARED_WAKEBOARD / 'groundtruth.txt')
  [entry] = uav123.UAV123_10FPS.load(root)
  assert (entry.name, entry.num_frames) == ('wakeboard7', 67)
  np.testing.assert_array_equal(entry.groundtruth[0], [623, 299, 11, 38])
  assert next(iter(entry.sequence)).shape == (720, 1280, 3)


# NfS.


def nfs_sequence(root: pathlib.Path, name: str, count: int,
                 lines_per_frame: int, extra_lines: int = 0) -> np.ndarray:
  folder = root / name / '30'
  for frame in range(1, count + 1):
    write_frame(folder / name / f'{frame:05d}.jpg', 10 * frame)
  rows = count * lines_per_frame + extra_lines
  corners = np.array([[10 + i, 20 + i, 40 + 2 * i, 50 + i]
                      for i in range(rows)], np.float64)
  lines = [f'1 {x0:g} {y0:g} {x1:g} {y1:g} {i + 1} {int(i == 3)} 0'
           f' {int(i % 2)} "person"'
           for i, (x0, y0, x1, y1) in enumerate(corners)]
  write_lines(folder / f'{name}.txt', lines)
  (root / name / '240').mkdir()
  return corners


def test_nfs_subsampling_and_quirks_match_got10k(tmp_path):
  root = tmp_path / 'NfS'
  corners = nfs_sequence(root, 'bee', 5, lines_per_frame=8)  # 240 fps.
  nfs_sequence(root, 'cup', 4, lines_per_frame=1, extra_lines=1)
  nfs_sequence(root, 'dog', 3, lines_per_frame=1)
  entries = nfs.BENCHMARK.load(root)
  assert [(e.name, e.num_frames) for e in entries] == [
      ('bee', 5), ('cup', 4), ('dog', 3)]
  bee = entries[0]
  kept = corners[::8]  # Lines 1, 9, 17, ...
  np.testing.assert_array_equal(bee.groundtruth[:, :2], kept[:, :2])
  np.testing.assert_array_equal(bee.groundtruth[:, 2:],
                                kept[:, 2:] - kept[:, :2])
  np.testing.assert_array_equal(bee.label('generated'), [0, 0, 0, 0, 0])
  np.testing.assert_array_equal(entries[2].label('out_of_view'), [0, 0, 0])
  assert [frame_level(f) for f in bee.sequence] == [10, 20, 30, 40, 50]
  datasets = need_got10k('datasets')
  got = datasets.NfS(str(root), fps=30)
  assert got.seq_names == [e.name for e in entries]
  for entry in entries:
    frames, anno = got[entry.name]
    assert len(frames) == entry.num_frames
    np.testing.assert_array_equal(anno, entry.groundtruth)


def test_nfs_bad_annotation_is_a_clear_error(tmp_path):
  nfs_sequence(tmp_path, 'bee', 5, lines_per_frame=1, extra_lines=3)
  with pytest.raises(sequences.SequenceError, match='8 boxes for 5 frames'):
    nfs.BENCHMARK.load(tmp_path)
  (tmp_path / 'bee' / '30' / 'bee.txt').write_text('1 2 3\n')
  with pytest.raises(sequences.SequenceError, match='bee.txt:1: expected'):
    nfs.BENCHMARK.load(tmp_path)


# TC128.


def tc128_sequence(root: pathlib.Path, name: str, frames: int, first: int,
                   last: int) -> np.ndarray:
  for frame in range(1, frames + 1):
    write_frame(root / name / 'img' / f'{frame:04d}.jpg', 10 * frame)
  boxes = boxes_for(last - first + 1)
  write_lines(root / name / f'{name}_gt.txt', box_lines(boxes))
  write_lines(root / name / f'{name}_frames.txt', [f'{first},{last}'])
  return boxes


def test_tc128_frame_ranges_match_got10k(tmp_path):
  root = tmp_path / 'Temple-color-128'
  boxes = tc128_sequence(root, 'Airport_ce', 8, 3, 6)
  tc128_sequence(root, 'Baby_ce', 4, 1, 4)
  entries = tc128.BENCHMARK.load(root)
  assert [(e.name, e.num_frames) for e in entries] == [('Airport_ce', 4),
                                                       ('Baby_ce', 4)]
  np.testing.assert_array_equal(entries[0].groundtruth, boxes)
  assert [frame_level(f) for f in entries[0].sequence] == [30, 40, 50, 60]
  datasets = need_got10k('datasets')
  got = datasets.TColor128(str(root), download=False)
  assert got.seq_names == [e.name for e in entries]
  frames, anno = got['Airport_ce']
  assert [pathlib.Path(f).name for f in frames] == [
      '0003.jpg', '0004.jpg', '0005.jpg', '0006.jpg']
  np.testing.assert_array_equal(anno, boxes)
  (root / 'Baby_ce' / 'Baby_ce_frames.txt').write_text('1,9\n')
  with pytest.raises(sequences.SequenceError, match='4 boxes for the 9'):
    tc128.BENCHMARK.load(root)


def test_ope_benchmarks_summarize_as_otb(tmp_path):
  root = tmp_path / 'Temple-color-128'
  tc128_sequence(root, 'Airport_ce', 8, 3, 6)
  [entry] = tc128.BENCHMARK.load(root)
  boxes = entry.groundtruth.copy()
  boxes[1:] += [5, 0, 0, 0]  # IoU 0/40 (w 5, h 4): misses from frame 1.
  write_result(tc128.BENCHMARK, tmp_path / 'results', 'ncc', entry, boxes)
  summary = tc128.BENCHMARK.summarize(tmp_path / 'results', 'ncc', [entry],
                                      None)
  assert summary['overall']['success_auc'] == pytest.approx(1 / 4 * 20 / 21)
  assert summary['overall']['precision_20px'] == 1.0


def test_ope_benchmarks_share_one_wording_of_the_definitions():
  # The shared sentence: what ope.definitions puts between its arguments.
  sentence, end = ope.definitions('{counting}').split('{counting}')
  assert sentence.startswith('Success AUC: mean over sequences')
  for benchmark in (otb.BENCHMARK, nfs.BENCHMARK, tc128.BENCHMARK,
                    *uav123.BENCHMARKS):
    assert sentence in benchmark.definitions, benchmark.name
    assert benchmark.definitions.endswith(end), benchmark.name
  # As before the wording was shared.
  assert tc128.BENCHMARK.definitions == (
      'Success AUC: mean over sequences of the success curve (fraction of'
      ' frames with IoU > t, 21 thresholds t in [0, 1]), averaged over t;'
      ' precision: fraction of frames with centre error <= 20 px, averaged'
      ' over sequences; frames without a valid ground-truth box left out.')
  assert 'as the UAV20L toolkit scores' in uav123.UAV20L.definitions


# Through the runner: track, record, report.


def textured_frames(count: int, size=(64, 48), seed=0):
  """A textured patch moving over a darker texture, and its boxes."""
  rng = np.random.default_rng(seed)
  background = rng.integers(0, 60, (size[1], size[0], 3), np.uint8)
  patch = rng.integers(0, 255, (12, 16, 3), np.uint8)
  frames, boxes = [], []
  for i in range(count):
    frame = background.copy()
    y, x = 10 + i, 12 + 2 * i
    frame[y:y + 12, x:x + 16] = patch
    frames.append(frame)
    boxes.append([x + 1, y + 1, 16, 12])
  return frames, np.array(boxes, np.float64)


def evaluate(benchmark, root, results, **groups):
  config = evaluate_config.get_config()
  config.benchmark = benchmark.name
  config.root = str(root)
  config.results_dir = str(results)
  config.trackers = ('ncc',)
  config.progress = False
  config.plot_dpi = 40
  for group, values in groups.items():
    config[group] = ml_collections.ConfigDict(values)
  runner.track(benchmark, config)
  record, recorded = runner.read_record(results)
  return runner.report(benchmark, recorded, record)


def test_runner_reports_lasot_and_zips_trackingnet(tmp_path):
  frames, boxes = textured_frames(5)
  folder = tmp_path / 'LaSOT' / 'cat' / 'cat-2'  # Training split.
  (folder / 'img').mkdir(parents=True)
  for i, frame in enumerate(frames, start=1):
    PIL.Image.fromarray(frame).save(folder / 'img' / f'{i:08d}.jpg')
  write_lines(folder / 'groundtruth.txt', box_lines(boxes))
  for name in ('full_occlusion', 'out_of_view'):
    write_lines(folder / f'{name}.txt', ['0,0,0,1,0'])
  summary, report = evaluate(lasot.BENCHMARK, tmp_path / 'LaSOT',
                             tmp_path / 'lasot', lasot={'split': 'train'})
  ncc = summary['trackers']['ncc']
  assert summary['sequences'] == ['cat-2']
  assert ncc['sequences']['cat-2']['precision_20px'] <= 4 / 5  # 1 absent.
  assert set(ncc['classes']) == {'cat'}
  text = report.read_text()
  assert 'Evaluation: LaSOT one-pass evaluation' in text
  assert '| Tracker | Success AUC | Precision@20px | Norm P@0.2 |' in text
  assert is_png(tmp_path / 'lasot' / 'normalized_precision_plot.png')

  chunk = tmp_path / 'TrackingNet' / 'TEST'
  (chunk / 'frames' / 'vid').mkdir(parents=True)
  for i, frame in enumerate(frames):
    PIL.Image.fromarray(frame).save(chunk / 'frames' / 'vid' / f'{i}.jpg')
  write_lines(chunk / 'anno' / 'vid.txt', box_lines(boxes[:1]))
  summary, report = evaluate(trackingnet.BENCHMARK, tmp_path / 'TrackingNet',
                             tmp_path / 'trackingnet')
  with zipfile.ZipFile(tmp_path / 'trackingnet' / 'ncc.zip') as archive:
    assert archive.namelist() == ['vid.txt']
    assert len(archive.read('vid.txt').decode().split()) == 5
  assert '| ncc | n/a | n/a | n/a |' in report.read_text()
