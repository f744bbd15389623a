"""Tests of data_prep: building crop datasets from each source layout."""

import os
import subprocess
import sys

import imageio.v3 as iio
import numpy as np
import pytest

from data_prep import builders
from data_prep import curate
from data_prep import dataset
from data_prep.builders import base
from siamfc_jax import boxes
from siamfc_jax import crops
from siamfc_jax import sequences
from siamfc_jax.configs import data

HEIGHT, WIDTH = 72, 96


def curation():
  return data.data_config().curation


def frame_image(index, tint=(0, 0, 0)):
  """A smooth, textured test frame that differs from frame to frame."""
  y, x = np.mgrid[:HEIGHT, :WIDTH].astype(np.float32)
  channels = [120 + 60 * np.sin(x / (5 + c) + y / 9 + index) + tint[c]
              for c in range(3)]
  return np.clip(np.stack(channels, -1), 0, 255).astype(np.uint8)


def write_frame(path, index, tint=(0, 0, 0)):
  path.parent.mkdir(parents=True, exist_ok=True)
  iio.imwrite(path, frame_image(index, tint), extension='.jpg', quality=95)


def vid_xml(objects):
  """A VID annotation; objects are (trackid, (xmin, xmax, ymin, ymax),
  occluded)."""
  parts = [f'<annotation><size><width>{WIDTH}</width>'
           f'<height>{HEIGHT}</height></size>']
  for track_id, (xmin, xmax, ymin, ymax), occluded in objects:
    parts.append(
        f'<object><trackid>{track_id}</trackid><name>n01</name><bndbox>'
        f'<xmax>{xmax}</xmax><xmin>{xmin}</xmin><ymax>{ymax}</ymax>'
        f'<ymin>{ymin}</ymin></bndbox><occluded>{occluded}</occluded>'
        '<generated>0</generated></object>')
  return ''.join(parts) + '</annotation>'


@pytest.fixture
def vid_root(tmp_path):
  """Two snippets in the nested VID training layout."""
  root = tmp_path / 'ILSVRC2015'
  first = ('ILSVRC2015_VID_train_0000', 'ILSVRC2015_train_00000000')
  second = ('ILSVRC2015_VID_train_0001', 'ILSVRC2015_train_00001000')
  for frame in range(6):
    objects = [(0, (20 + frame, 49 + frame, 10, 39), int(frame == 2))]
    if frame < 4:  # Track 1 leaves after frame 3.
      side = 4 if frame == 1 else 14
      objects.append((1, (60, 59 + side, 30, 29 + side), 0))
    if frame == 5:
      objects.append((2, (2, 91, 30, 39), 0))  # 90 x 10.
    write_frame(root.joinpath('Data/VID/train', *first, f'{frame:06d}.JPEG'),
                frame)
    xml = root.joinpath('Annotations/VID/train', *first, f'{frame:06d}.xml')
    xml.parent.mkdir(parents=True, exist_ok=True)
    xml.write_text(vid_xml(objects))
  annotations = root.joinpath('Annotations/VID/train', *second)
  annotations.mkdir(parents=True)
  for frame in range(3):
    write_frame(root.joinpath('Data/VID/train', *second, f'{frame:06d}.JPEG'),
                frame)
  (annotations / '000000.xml').write_text(vid_xml([(0, (5, 40, 5, 40), 0)]))
  (annotations / '000002.xml').write_text('<annotation><object>')
  return root


@pytest.fixture
def got10k_root(tmp_path):
  """Three listed GOT-10k sequences, the third missing, one corrupt frame."""
  train = tmp_path / 'GOT-10k' / 'train'
  names = [f'GOT-10k_Train_{i:06d}' for i in (1, 2, 3)]
  train.mkdir(parents=True)
  (train / 'list.txt').write_text('\n'.join(names) + '\n')
  first, second = train / names[0], train / names[1]
  for frame in range(6):
    write_frame(first / f'{frame + 1:08d}.jpg', frame)
  (first / '00000006.jpg').write_bytes(b'\xff\xd8\xff\xe0 not a jpeg')
  (first / 'groundtruth.txt').write_text(
      ''.join(f'{10 + i},{12 + i},30,25\n' for i in range(6)))
  (first / 'absence.label').write_text('0\n0\n0\n1\n0\n0\n')
  (first / 'cover.label').write_text('8\n8\n7\n0\n0\n8\n')
  for frame in range(4):
    write_frame(second / f'{frame + 1:08d}.jpg', frame)
  (second / 'groundtruth.txt').write_text(
      '20,20,30,30\n500,500,10,10\n0,0,0,0\n22,21,30,30\n')
  return tmp_path / 'GOT-10k'


@pytest.fixture
def otb_root(tmp_path):
  """OTB folders: two targets in one, a box file that does not fit."""
  root = tmp_path / 'OTB'
  for frame in range(4):
    write_frame(root / 'Jogging' / 'img' / f'{frame + 1:04d}.jpg', frame)
  (root / 'Jogging' / 'groundtruth_rect.1.txt').write_text(
      ''.join(f'{10 + i}\t{10}\t20\t40\n' for i in range(4)))
  (root / 'Jogging' / 'groundtruth_rect.2.txt').write_text(
      ''.join(f'{50 + i},{20},25,40\n' for i in range(4)))
  for frame in range(3):
    write_frame(root / 'David' / 'img' / f'{frame + 1:04d}.jpg', frame)
  (root / 'David' / 'groundtruth_rect.txt').write_text('10,10,20,20\n' * 2)
  (root / 'notes').mkdir()
  return root


def records(path):
  source = dataset.data_source(path)
  return [source[i] for i in range(len(source))]


def assert_crop_matches(record, frame, box):
  """A stored crop is crops.crop around ``box`` with SiamFC context."""
  config = curation()
  center, size = boxes.xywh_to_center_size(np.asarray(box, np.float32))
  side = (crops.exemplar_size_in_frame(size, config.context)
          * config.crop_size / config.exemplar_size)
  expected = crops.crop(frame, center, side, config.crop_size,
                        crops.mean_color(frame))
  assert record['image'].shape == (config.crop_size, config.crop_size, 3)
  error = np.abs(record['image'].astype(np.float32) - np.asarray(expected))
  assert error.mean() < 2.0
  middle = (config.crop_size - 1) / 2
  expected_box = boxes.center_size_to_xywh(
      np.array([middle, middle]), np.asarray(size) * config.crop_size / side)
  np.testing.assert_allclose(record['box'], expected_box, rtol=1e-4,
                             atol=1e-3)


def test_vid_tracks_skips_and_crops(vid_root, tmp_path):
  path, summary = builders.build('vid', root=vid_root, out=tmp_path / 'out',
                                 config=curation())
  assert summary['videos_found'] == 2 and summary['videos'] == 1
  assert summary['tracks'] == 2 and summary['crops'] == 8
  assert summary['skipped'] == {
      curate.OCCLUDED: 1, curate.TINY: 1, curate.ASPECT: 1,
      curate.MISSING_ANNOTATION: 1, curate.BAD_ANNOTATION: 1,
      curate.SHORT_TRACK: 1}
  stored = records(path)
  assert [(r['track'], r['frame']) for r in stored] == [
      (0, 0), (0, 1), (0, 3), (0, 4), (0, 5), (1, 0), (1, 2), (1, 3)]
  assert {r['video'] for r in stored} == {b'ILSVRC2015_train_00000000'}
  tracks = dataset.Tracks.from_json(dataset.metadata(path)[dataset.TRACKS])
  assert tracks.starts.tolist() == [0, 5]
  assert [f.tolist() for f in tracks.frames] == [[0, 1, 3, 4, 5], [0, 2, 3]]
  # Frame 4, track 0: xmin 24, xmax 53, ymin 10, ymax 39 (0-based, inclusive).
  frame = sequences.read_image(
      vid_root / 'Data/VID/train/ILSVRC2015_VID_train_0000/'
      'ILSVRC2015_train_00000000/000004.JPEG')
  assert_crop_matches(stored[3], frame, [25, 11, 30, 30])


def test_got10k_labels_and_corrupt_frame(got10k_root, tmp_path):
  path, summary = builders.build('got10k', root=got10k_root,
                                 out=tmp_path / 'out', config=curation())
  assert summary['videos_found'] == 3 and summary['videos'] == 2
  assert summary['crops'] == 5
  assert summary['skipped'] == {
      curate.ABSENT: 1, curate.OCCLUDED: 1, curate.CORRUPT_IMAGE: 1,
      curate.OUTSIDE: 1, curate.EMPTY_BOX: 1}
  assert list(summary['skipped_videos']) == ['GOT-10k_Train_000003']
  stored = records(path)
  assert [(r['video'], r['frame']) for r in stored] == [
      (b'GOT-10k_Train_000001', 0), (b'GOT-10k_Train_000001', 1),
      (b'GOT-10k_Train_000001', 2), (b'GOT-10k_Train_000002', 0),
      (b'GOT-10k_Train_000002', 3)]
  frame = sequences.read_image(
      got10k_root / 'train' / 'GOT-10k_Train_000001' / '00000002.jpg')
  assert_crop_matches(stored[1], frame, [11, 13, 30, 25])


def test_otb_multiple_targets_and_misfit_box_file(otb_root, tmp_path):
  path, summary = builders.build('otb', root=otb_root, out=tmp_path / 'out',
                                 config=curation())
  assert summary['videos_found'] == 2 and summary['tracks'] == 2
  assert summary['crops'] == 8
  assert '2 boxes for 3 frames' in summary['skipped_videos']['David']
  stored = records(path)
  assert [r['track'] for r in stored] == [0] * 4 + [1] * 4
  frame = sequences.read_image(otb_root / 'Jogging' / 'img' / '0003.jpg')
  assert_crop_matches(stored[6], frame, [52, 20, 25, 40])


@pytest.mark.shared
def test_real_sequences(shared_sequences, tmp_path):
  """A few frames of three real sequences, cropped as crops.crop does."""
  root = tmp_path / 'sequences'
  names = ['otb_Couple', 'otb_Deer', 'vot2015_ball1']
  frame_count = 4
  for name in names:
    source = shared_sequences / name
    (root / name / 'img').mkdir(parents=True)
    for i in range(1, frame_count + 1):
      (root / name / 'img' / f'{i:08d}.jpg').symlink_to(
          source / 'img' / f'{i:08d}.jpg')
    lines = (source / 'groundtruth.txt').read_text().splitlines()
    (root / name / 'groundtruth.txt').write_text(
        '\n'.join(lines[:frame_count]) + '\n')
  path, summary = builders.build('sequences', root=root, out=tmp_path / 'out',
                                 config=curation())
  assert summary['crops'] == len(names) * frame_count
  assert summary['skipped'] == {}
  stored = records(path)
  for index, name in enumerate(names):
    record = stored[index * frame_count + 2]
    assert record['video'].decode() == name and record['frame'] == 2
    box = sequences.read_boxes(shared_sequences / name / 'groundtruth.txt')[2]
    frame = sequences.read_image(shared_sequences / name / 'img' /
                                 '00000003.jpg')
    assert_crop_matches(record, frame, box)


def test_wrong_root_names_the_expected_layout(tmp_path):
  (tmp_path / 'empty').mkdir()
  for source, expected in [('vid', 'Data/VID/train'),
                           ('got10k', 'GOT-10k_*'),
                           ('sequences', 'groundtruth.txt')]:
    with pytest.raises(curate.SourceError, match=expected.replace('*', r'\*')):
      builders.build(source, root=tmp_path / 'empty', out=tmp_path / 'out',
                     config=curation())


def test_killed_build_resumes_to_the_same_dataset(vid_root, tmp_path,
                                                   monkeypatch):
  curated = []
  curate_to_file = base._curate_to_file  # pylint: disable=protected-access

  def killed_after_one(video, path, config):
    if curated:
      raise KeyboardInterrupt
    curated.append(video.name)
    curate_to_file(video, path, config)

  monkeypatch.setattr(base, '_curate_to_file', killed_after_one)
  out = tmp_path / 'out'
  with pytest.raises(KeyboardInterrupt):
    builders.build('vid', root=vid_root, out=out, config=curation())
  assert not dataset_exists(out)
  # What TFDS leaves of a build killed while writing.
  (out / 'vid_crops' / 'incomplete.ABC123_1.0.0').mkdir(parents=True)

  def counted(video, path, config):
    curated.append(video.name)
    curate_to_file(video, path, config)

  monkeypatch.setattr(base, '_curate_to_file', counted)
  path, summary = builders.build('vid', root=vid_root, out=out,
                                 config=curation())
  assert curated == ['ILSVRC2015_train_00000000', 'ILSVRC2015_train_00001000']
  assert not (out / '.curating').exists()
  assert [p.name for p in (out / 'vid_crops').iterdir()] == ['1.0.0']
  monkeypatch.setattr(base, '_curate_to_file', curate_to_file)
  clean, clean_summary = builders.build(
      'vid', root=vid_root, out=tmp_path / 'clean', config=curation())
  assert summary == clean_summary
  for resumed_record, clean_record in zip(records(path), records(clean),
                                          strict=True):
    for key, value in clean_record.items():
      np.testing.assert_array_equal(resumed_record[key], value)
  # A complete dataset is reused as it is; other settings are refused.
  curated.clear()
  monkeypatch.setattr(base, '_curate_to_file', counted)
  assert builders.build('vid', root=vid_root, out=out,
                        config=curation())[1] == summary
  assert not curated
  other = curation()
  other.jpeg_quality = 50
  with pytest.raises(dataset.DatasetError, match='other settings'):
    builders.build('vid', root=vid_root, out=out, config=other)


def dataset_exists(out):
  try:
    dataset.find(out)
  except dataset.DatasetError:
    return False
  return True


def run_build(*args):
  env = dict(os.environ, JAX_PLATFORMS='cpu')
  # No cwd and close_fds=False let subprocess spawn rather than fork, which
  # is unsafe once JAX's threads run.
  return subprocess.run([sys.executable, '-m', 'data_prep.build', *args],
                        env=env, capture_output=True, text=True, timeout=300,
                        close_fds=False)


@pytest.mark.slow
def test_command_line(got10k_root, tmp_path):
  out = tmp_path / 'out'
  result = run_build('--source=got10k', f'--root={got10k_root}',
                     f'--out={out}', '--workers=2')
  assert result.returncode == 0, result.stderr
  assert 'videos: 2 with crops of 3 found, tracks: 2, crops: 5' in (
      result.stdout)
  assert 'corrupt image 1' in result.stdout
  assert 'GOT-10k_Train_000003: ' in result.stdout
  assert 'curating' in result.stderr  # The progress bar.
  result = run_build('--source=vid', f'--root={got10k_root}', f'--out={out}')
  assert result.returncode == 1
  assert result.stderr.strip().splitlines()[-1].startswith(
      f'error: {got10k_root}/Data/VID/train: no VID snippets')
