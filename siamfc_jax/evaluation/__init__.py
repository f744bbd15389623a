"""Benchmark evaluation: sequences, tracking loops, result files, summaries.

SiamFC and the baselines run through the same loops and write the same
files, in each benchmark's own layout under the results folder:

  otb     <tracker>/<seq>.txt: one x,y,w,h per frame (OTB text format),
          <tracker>/times/<seq>_time.txt: seconds per frame;
  got10k  <tracker>/<seq>/<seq>_001.txt and <seq>_time.txt: the GOT-10k
          submission layout (<tracker>.zip is that folder, zipped);
  vot     <tracker>/baseline/<seq>/<seq>_001.txt and <seq>_time.txt: the
          reset-based run in pysot's format (1 initialised, 2 failure,
          0 skipped, else a 0-based x,y,w,h box); overlaps are the VOT
          toolkit's, on the ground-truth polygons (``metrics.vot_overlap``).

Files are written atomically, the box file last, so a sequence whose box
file has one line per frame is complete: an interrupted run started again
tracks only the others. ``evaluation.json`` records the config;
siamfc_jax.reports turns the files into tables, plots and a report.
"""

import dataclasses
import io
import json
import pathlib
import re
import time
import zipfile

import ml_collections
import numpy as np
import tqdm

from siamfc_jax import baselines
from siamfc_jax import boxes as boxes_lib
from siamfc_jax import checkpoints
from siamfc_jax import files
from siamfc_jax import metrics
from siamfc_jax import records
from siamfc_jax import reports
from siamfc_jax import sequences
from siamfc_jax import tracker as tracker_lib

BENCHMARKS = ('otb', 'got10k', 'vot')
TRACKERS = ('siamfc', *baselines.BASELINES)
RECORD = 'evaluation.json'
# Ground-truth polygons kept beside the boxes of groundtruth.txt (the
# layout of ../shared/data/sequences).
VOT_POLYGON_NAME = 'groundtruth_polygon.txt'


class EvaluationError(ValueError):
  """A benchmark, tracker or results folder that cannot be evaluated."""


@dataclasses.dataclass(frozen=True)
class Entry:
  """A benchmark sequence and the labels its metrics need.

  ``sequence.groundtruth`` is (N, 4), NaN where unknown (the GOT-10k test
  split gives only the first box).
  """

  sequence: sequences.Sequence
  resolution: tuple[int, int] | None = None  # GOT-10k's (width, height).
  cover: np.ndarray | None = None  # GOT-10k cover.label.
  absence: np.ndarray | None = None  # GOT-10k absence.label.
  # VOT: (N, K, 2) ground-truth polygon corners (``read_vot_polygons``).
  polygons: np.ndarray | None = None

  @property
  def name(self) -> str:
    return self.sequence.name

  def frame_size(self) -> tuple[int, int]:
    """(width, height): the GOT-10k resolution, else the first frame's."""
    if self.resolution:
      return self.resolution
    height, width = next(iter(self.sequence)).shape[:2]
    return width, height


def _sequence_folders(root: pathlib.Path) -> list[pathlib.Path]:
  if not root.is_dir():
    raise sequences.SequenceError(f'{root}: no such folder')
  folders = sorted(
      p for p in root.iterdir() if p.is_dir() and (
          (p / 'img').is_dir()
          or any((p / n).is_file() for n in sequences.GROUNDTRUTH_NAMES)))
  if not folders:
    raise sequences.SequenceError(f'{root}: no sequence folders (img/ and'
                                  ' groundtruth.txt) found')
  return folders


def _read_resolution(path: pathlib.Path) -> tuple[int, int] | None:
  if not path.is_file():
    return None
  match = re.search(r'^resolution:\s*\((\d+),\s*(\d+)\)', path.read_text(),
                    re.MULTILINE)
  return (int(match[1]), int(match[2])) if match else None


def _read_label(path: pathlib.Path, num_frames: int) -> np.ndarray | None:
  if not path.is_file():
    return None
  try:
    label = np.loadtxt(path, ndmin=1)
  except ValueError as e:
    raise sequences.SequenceError(f'{path}: cannot read labels ({e})') from None
  if label.shape != (num_frames,):
    raise sequences.SequenceError(
        f'{path}: {label.size} labels for {num_frames} frames')
  return label


def load_got10k_sequence(folder) -> Entry:
  """A GOT-10k val/test sequence: frames, ground truth and labels.

  The test split's groundtruth.txt holds only the first box; the other
  rows are NaN. cover.label, absence.label and meta_info.ini are read where
  present.
  """
  folder = pathlib.Path(folder)
  if not folder.is_dir():
    raise sequences.SequenceError(f'{folder}: no such sequence folder')
  paths = sorted(folder.glob('*.jpg'))
  if not paths:
    raise sequences.SequenceError(f'{folder}: no .jpg frames found')
  given = sequences.read_boxes(folder / 'groundtruth.txt')
  if len(given) not in (1, len(paths)):
    raise sequences.SequenceError(
        f'{folder / "groundtruth.txt"}: {len(given)} boxes for {len(paths)}'
        ' frames (expected 1 or one per frame)')
  groundtruth = np.full((len(paths), 4), np.nan)
  groundtruth[:len(given)] = given
  sequence = sequences.Sequence(
      name=folder.name, num_frames=len(paths),
      read_frames=lambda: map(sequences.read_image, paths),
      groundtruth=groundtruth)
  return Entry(sequence,
               resolution=_read_resolution(folder / 'meta_info.ini'),
               cover=_read_label(folder / 'cover.label', len(paths)),
               absence=_read_label(folder / 'absence.label', len(paths)))


def read_vot_polygons(folder, num_frames: int) -> np.ndarray | None:
  """The ground-truth polygons of a VOT sequence folder, if it has any.

  They are the 8-number lines (0-based corners, as the toolkit reads them)
  of groundtruth_polygon.txt where present (folders that keep the boxes in
  groundtruth.txt), else of the ground-truth file.

  Returns:
    (num_frames, 4, 2) corners, NaN on the other lines (boxes, NaN); None
    when no line is a polygon.
  """
  folder = pathlib.Path(folder)
  names = (VOT_POLYGON_NAME, *sequences.GROUNDTRUTH_NAMES)
  path = next((folder / n for n in names if (folder / n).is_file()), None)
  if path is None:
    return None
  rows = []
  for line in path.read_text().splitlines():
    fields = [f for f in re.split(r'[,\s]+', line.strip()) if f]
    if not fields:
      continue
    try:
      values = np.array([float(f) for f in fields])
    except ValueError:
      raise sequences.SequenceError(
          f'{path}: expected numbers, got {line.strip()!r}') from None
    rows.append(values if values.size == 8 else np.full(8, np.nan))
  if len(rows) != num_frames:
    raise sequences.SequenceError(
        f'{path}: {len(rows)} regions for {num_frames} frames')
  polygons = np.stack(rows).reshape(-1, 4, 2)
  return polygons if not np.isnan(polygons).all() else None


def _truncate(entry: Entry, max_frames: int | None) -> Entry:
  if max_frames is None:
    return entry

  def cut(label):
    return None if label is None else label[:max_frames]

  return dataclasses.replace(
      entry, sequence=sequences.truncate(entry.sequence, max_frames),
      cover=cut(entry.cover), absence=cut(entry.absence),
      polygons=cut(entry.polygons))


def load_benchmark(benchmark: str, root, *, names=(),
                   max_frames: int | None = None) -> list[Entry]:
  """The sequences of a benchmark folder.

  Args:
    benchmark: 'otb' or 'vot' (a folder of sequence folders with ground
      truth), or 'got10k' (a split folder with list.txt).
    root: the folder.
    names: sequence names to keep (all if empty).
    max_frames: keep only the first frames of each sequence.

  Returns:
    The entries, in the benchmark's order.
  """
  root = pathlib.Path(root)
  if benchmark == 'got10k':
    list_file = root / 'list.txt'
    if not list_file.is_file():
      raise sequences.SequenceError(f'{list_file}: no GOT-10k sequence list')
    entries = [load_got10k_sequence(root / name)
               for name in list_file.read_text().split()]
  elif benchmark in BENCHMARKS:
    entries = []
    for folder in _sequence_folders(root):
      sequence = sequences.load_folder(folder)
      if sequence.groundtruth is None:
        raise sequences.SequenceError(f'{folder}: no ground truth')
      polygons = (read_vot_polygons(folder, sequence.num_frames)
                  if benchmark == 'vot' else None)
      entries.append(Entry(sequence, polygons=polygons))
  else:
    raise EvaluationError(f'unknown benchmark {benchmark!r}; choose from'
                          f' {", ".join(BENCHMARKS)}')
  if names:
    unknown = sorted(set(names) - {e.name for e in entries})
    if unknown:
      raise sequences.SequenceError(
          f'{root}: no sequence {", ".join(unknown)}')
    entries = [e for e in entries if e.name in names]
  return [_truncate(e, max_frames) for e in entries]


# Tracking loops, shared by every tracker.


def run_ope(tracker, sequence: sequences.Sequence,
            init_box) -> tracker_lib.TrackResult:
  """One-pass evaluation: ``init`` on the first frame, ``update`` after.

  ``tracker`` has the ``init(image, box)`` / ``update(image) -> box`` API.
  Frame reading is not timed. Scores are NaN (not every tracker has them).
  """
  results, seconds = [], []
  for i, frame in enumerate(sequence):
    start = time.perf_counter()
    if i == 0:
      tracker.init(frame, init_box)
      box = np.asarray(init_box, np.float64)
    else:
      box = np.asarray(tracker.update(frame), np.float64)
    seconds.append(time.perf_counter() - start)
    results.append(box)
  return tracker_lib.TrackResult(np.stack(results),
                                 np.full(len(results), np.nan),
                                 np.asarray(seconds))


def run_reset(tracker, sequence: sequences.Sequence, *, skip_frames: int,
              polygons=None) -> tuple[metrics.VOTRun, np.ndarray]:
  """The VOT/pysot reset-based run: re-initialise after each failure.

  A failure is a box that does not overlap the ground truth (the VOT
  toolkit's overlap 0, on ``polygons`` where given, within the image); the
  tracker is initialised again on the ground-truth box ``skip_frames``
  frames later. Frames without valid ground truth where an initialisation
  is due are skipped.

  Returns:
    (the run, seconds per frame; 0 for skipped frames).
  """
  groundtruth = np.asarray(sequence.groundtruth, np.float64)
  if polygons is not None:
    polygons = np.asarray(polygons, np.float64)
    if len(polygons) != len(groundtruth):
      raise ValueError(f'{len(polygons)} polygons for {len(groundtruth)}'
                       ' frames')
  codes, results, seconds = [], [], []
  restart = 0
  width = height = 0
  for i, frame in enumerate(sequence):
    height, width = np.shape(frame)[:2]
    start = time.perf_counter()
    elapsed = 0.0
    box = np.full(4, np.nan)
    if i == restart and not boxes_lib.is_valid(groundtruth[i])[0]:
      restart += 1
      code = metrics.VOT_SKIPPED
    elif i == restart:
      tracker.init(frame, groundtruth[i])
      elapsed = time.perf_counter() - start
      code = metrics.VOT_INIT
    elif i > restart:
      box = np.asarray(tracker.update(frame), np.float64)
      elapsed = time.perf_counter() - start  # The tracker's time only.
      code = metrics.VOT_TRACKED
      overlap = metrics.vot_overlap(
          box, groundtruth[i], size=(width, height),
          polygons=None if polygons is None else polygons[i:i + 1])[0]
      if overlap <= 0:
        box = np.full(4, np.nan)
        code = metrics.VOT_FAILURE
        restart = i + skip_frames
    else:
      code = metrics.VOT_SKIPPED
    seconds.append(elapsed)
    codes.append(code)
    results.append(box)
  run = metrics.VOTRun(np.asarray(codes), np.stack(results), groundtruth,
                       width, height, polygons)
  return run, np.asarray(seconds)


# Result files.


def result_paths(benchmark: str, results_dir, tracker: str,
                 name: str) -> tuple[pathlib.Path, pathlib.Path]:
  """(box file, seconds file) of one tracker on one sequence."""
  base = pathlib.Path(results_dir) / tracker
  if benchmark == 'otb':
    return base / f'{name}.txt', base / 'times' / f'{name}_time.txt'
  folder = base / name if benchmark == 'got10k' else base / 'baseline' / name
  return folder / f'{name}_001.txt', folder / f'{name}_time.txt'


def _write_seconds(path, seconds) -> None:
  files.write_text(path, ''.join(f'{s:.8f}\n' for s in seconds))


def write_track_result(benchmark: str, results_dir, tracker: str, name: str,
                       result: tracker_lib.TrackResult) -> None:
  """Writes the seconds, then the boxes (OTB and GOT-10k layouts)."""
  boxes_path, seconds_path = result_paths(benchmark, results_dir, tracker,
                                          name)
  _write_seconds(seconds_path, result.seconds)
  sequences.write_boxes(boxes_path, result.boxes)


def write_vot_result(results_dir, tracker: str, name: str,
                     run: metrics.VOTRun, seconds) -> None:
  """Writes the seconds, then the run in pysot's format (0-based boxes)."""
  boxes_path, seconds_path = result_paths('vot', results_dir, tracker, name)
  _write_seconds(seconds_path, seconds)
  lines = [','.join(f'{v:.4f}' for v in box - [1, 1, 0, 0])
           if code == metrics.VOT_TRACKED else str(code)
           for code, box in zip(run.codes, run.boxes)]
  files.write_text(boxes_path, '\n'.join(lines) + '\n')


def read_vot_result(path) -> tuple[np.ndarray, np.ndarray]:
  """(codes, 1-based boxes) of a pysot-format reset-based run file."""
  codes, results = [], []
  for line in pathlib.Path(path).read_text().split():
    values = [float(v) for v in line.split(',')]
    if len(values) == 1:
      codes.append(int(values[0]))
      results.append([np.nan] * 4)
    elif len(values) == 4:
      codes.append(metrics.VOT_TRACKED)
      results.append(np.add(values, [1, 1, 0, 0]))
    else:
      raise EvaluationError(f'{path}: bad line {line!r}')
  return np.asarray(codes), np.asarray(results, np.float64).reshape(-1, 4)


def read_seconds(path) -> np.ndarray:
  return np.loadtxt(path, ndmin=1)


def is_complete(benchmark: str, results_dir, tracker: str,
                entry: Entry) -> bool:
  """True if the tracker's files for ``entry`` exist and cover every frame."""
  boxes_path, seconds_path = result_paths(benchmark, results_dir, tracker,
                                          entry.name)
  if not (boxes_path.is_file() and seconds_path.is_file()):
    return False
  return len(boxes_path.read_text().split()) == entry.sequence.num_frames


# Running trackers.


def create_tracker(name: str, config: ml_collections.ConfigDict):
  """The tracker called ``name`` (one of TRACKERS), set up from ``config``."""
  if name == 'siamfc':
    return tracker_lib.Tracker(checkpoints.load_for_tracking(config.track),
                               config.track)
  if name in baselines.BASELINES:
    return baselines.create(name, ncc_search_scale=config.ncc_search_scale)
  raise EvaluationError(f'unknown tracker {name!r}; choose from'
                        f' {", ".join(TRACKERS)}')


def run_tracker(name: str, entries, config: ml_collections.ConfigDict) -> int:
  """Tracks the sequences whose results are missing; returns how many."""
  results_dir, benchmark = config.results_dir, config.benchmark
  missing = [e for e in entries
             if not is_complete(benchmark, results_dir, name, e)]
  if not missing:
    return 0
  tracker = create_tracker(name, config)
  progress = tqdm.tqdm(total=len(missing), desc=name, unit='sequence',
                       disable=not config.progress)
  if name == 'siamfc' and config.batch_size > 1 and benchmark != 'vot':
    for start in range(0, len(missing), config.batch_size):
      chunk = missing[start:start + config.batch_size]
      results = tracker_lib.track_batch(
          tracker.variables, tracker.settings, [e.sequence for e in chunk],
          [e.sequence.groundtruth[0] for e in chunk])
      for entry, result in zip(chunk, results):
        write_track_result(benchmark, results_dir, name, entry.name, result)
      progress.update(len(chunk))
  else:
    for entry in missing:
      if benchmark == 'vot':
        run, seconds = run_reset(tracker, entry.sequence,
                                 skip_frames=config.vot.skip_frames,
                                 polygons=entry.polygons)
        write_vot_result(results_dir, name, entry.name, run, seconds)
      else:
        result = run_ope(tracker, entry.sequence, entry.sequence.groundtruth[0])
        write_track_result(benchmark, results_dir, name, entry.name, result)
      progress.update(1)
  progress.close()
  return len(missing)


def evaluate(config: ml_collections.ConfigDict) -> tuple[dict,
                                                          pathlib.Path]:
  """Tracks every sequence of ``config.root`` with every tracker, reports.

  Writes ``evaluation.json`` (config, git revision, SiamFC's weights), the
  result files of the sequences not yet complete, then the report (see
  ``report``).

  Returns:
    (summary, path of report.md).
  """
  unknown = [t for t in config.trackers if t not in TRACKERS]
  if unknown:
    raise EvaluationError(f'unknown tracker {", ".join(unknown)}; choose'
                          f' from {", ".join(TRACKERS)}')
  config = config.copy_and_resolve_references()
  config.root = str(pathlib.Path(config.root).resolve())  # For report().
  entries = load_benchmark(config.benchmark, config.root,
                           names=tuple(config.sequences),
                           max_frames=config.max_frames)
  weights = checkpoints.weights_path(config.track)
  records.write_json(
      pathlib.Path(config.results_dir) / RECORD,
      records.run_record(config, weights=str(weights) if weights else
                         f'untrained (seed {config.track.seed})'))
  for name in config.trackers:
    run_tracker(name, entries, config)
  return report(config.results_dir)


# Metrics of complete results.


def steady_fps(seconds_list) -> float:
  """Frames per second, leaving out each sequence's first two frames.

  The first frame is the initialisation and the second may include
  compilation (SiamFC); frames with no time (skipped) are left out.
  """
  steady = np.concatenate([np.asarray(s)[2:] for s in seconds_list])
  steady = steady[steady > 0]
  return float(steady.size / steady.sum()) if steady.size else float('nan')


def _summarize_otb(results_dir, name, entries) -> dict:
  per_sequence, results, seconds = {}, [], []
  for entry in entries:
    boxes_path, seconds_path = result_paths('otb', results_dir, name,
                                            entry.name)
    results.append(metrics.ope(sequences.read_boxes(boxes_path),
                               entry.sequence.groundtruth))
    seconds.append(read_seconds(seconds_path))
    per_sequence[entry.name] = dict(
        frames=entry.sequence.num_frames, success_auc=results[-1].auc,
        precision_20px=results[-1].precision, fps=steady_fps(seconds[-1:]))
  average = metrics.average_ope(results)
  overall = dict(success_auc=average.auc, precision_20px=average.precision,
                 fps=steady_fps(seconds),
                 success_curve=average.success_curve.tolist(),
                 precision_curve=average.precision_curve.tolist())
  return dict(overall=overall, sequences=per_sequence)


def _summarize_got10k(results_dir, name, entries) -> dict:
  per_sequence, ious, seconds = {}, [], []
  for entry in entries:
    boxes_path, seconds_path = result_paths('got10k', results_dir, name,
                                            entry.name)
    seconds.append(read_seconds(seconds_path))
    row = dict(frames=entry.sequence.num_frames,
               speed_fps=metrics.got10k_speed(seconds[-1]))
    sequence_ious = metrics.got10k_ious(
        sequences.read_boxes(boxes_path), entry.sequence.groundtruth,
        frame_size=entry.frame_size(), cover=entry.cover,
        absence=entry.absence)
    if sequence_ious.size:
      result = metrics.got10k(sequence_ious)
      row.update(ao=result.ao, sr50=result.sr50, sr75=result.sr75)
      ious.append(sequence_ious)
    per_sequence[entry.name] = row
  overall = dict(speed_fps=metrics.got10k_speed(np.concatenate(seconds)),
                 fps=steady_fps(seconds))
  if ious:
    result = metrics.got10k(np.concatenate(ious))
    overall.update(ao=result.ao, sr50=result.sr50, sr75=result.sr75,
                   success_curve=result.success_curve.tolist())
  return dict(overall=overall, sequences=per_sequence)


def _summarize_vot(results_dir, name, entries, vot) -> dict:
  per_sequence, runs, seconds = {}, [], []
  for entry in entries:
    boxes_path, seconds_path = result_paths('vot', results_dir, name,
                                            entry.name)
    codes, run_boxes = read_vot_result(boxes_path)
    width, height = entry.frame_size()
    run = metrics.VOTRun(codes, run_boxes, entry.sequence.groundtruth,
                         width, height, entry.polygons)
    runs.append(run)
    seconds.append(read_seconds(seconds_path))
    accuracy, robustness, lost = metrics.vot_accuracy_robustness(
        [run], burnin=vot.burnin)
    per_sequence[entry.name] = dict(
        frames=entry.sequence.num_frames, accuracy=accuracy,
        robustness=robustness, lost=lost, fps=steady_fps(seconds[-1:]))
  accuracy, robustness, lost = metrics.vot_accuracy_robustness(
      runs, burnin=vot.burnin)
  eao, curve = metrics.vot_eao(runs, low=vot.eao_low, high=vot.eao_high,
                               skipping=vot.skip_frames)
  overall = dict(accuracy=accuracy, robustness=robustness, lost=lost,
                 eao=eao, eao_curve=curve.tolist(), fps=steady_fps(seconds))
  return dict(overall=overall, sequences=per_sequence)


def summarize(config: ml_collections.ConfigDict, entries) -> dict:
  """Metrics of every tracker whose results cover every sequence.

  Returns:
    {'benchmark', 'sequences': [names], 'trackers': {name: {'overall':
    {...}, 'sequences': {seq: {...}}}}, 'incomplete': {name: number of
    sequences done}}.
  """
  results_dir, benchmark = config.results_dir, config.benchmark
  summary = dict(benchmark=benchmark, sequences=[e.name for e in entries],
                 trackers={}, incomplete={})
  for name in config.trackers:
    done = sum(is_complete(benchmark, results_dir, name, e) for e in entries)
    if done < len(entries):
      summary['incomplete'][name] = done
    elif benchmark == 'otb':
      summary['trackers'][name] = _summarize_otb(results_dir, name, entries)
    elif benchmark == 'got10k':
      summary['trackers'][name] = _summarize_got10k(results_dir, name,
                                                    entries)
    else:
      summary['trackers'][name] = _summarize_vot(results_dir, name, entries,
                                                 config.vot)
  return summary


def _zip_submission(results_dir: pathlib.Path, tracker: str) -> None:
  """``<tracker>.zip``: the tracker's GOT-10k folder, ready to upload."""
  folder = results_dir / tracker
  buffer = io.BytesIO()
  with zipfile.ZipFile(buffer, 'w', zipfile.ZIP_DEFLATED) as archive:
    for path in sorted(folder.rglob('*.txt')):
      archive.write(path, path.relative_to(folder).as_posix())
  files.write_bytes(results_dir / f'{tracker}.zip', buffer.getvalue())


def report(results_dir) -> tuple[dict, pathlib.Path]:
  """Turns the result files in ``results_dir`` into a report.

  Reads ``evaluation.json`` and writes ``summary.json`` (every number),
  the plots, ``report.md`` (and ``report.html`` with ``config.html``) and,
  for GOT-10k, each complete tracker's ``<tracker>.zip`` submission.

  Returns:
    (summary, path of report.md).
  """
  results_dir = pathlib.Path(results_dir)
  path = results_dir / RECORD
  if not path.is_file():
    raise EvaluationError(f'{path}: not found; run experiments.evaluate'
                          ' first')
  record = json.loads(path.read_text())
  config = ml_collections.ConfigDict(record['config'])
  config.results_dir = str(results_dir)
  entries = load_benchmark(config.benchmark, config.root,
                           names=tuple(config.sequences),
                           max_frames=config.max_frames)
  summary = summarize(config, entries)
  records.write_json(results_dir / 'summary.json', summary)
  if config.benchmark == 'got10k':
    for name in summary['trackers']:
      _zip_submission(results_dir, name)
  details = {
      'Sequences': f'{len(entries)} in {config.root}' + (
          f' (first {config.max_frames} frames)' if config.max_frames
          else ''),
      'Trackers': ', '.join(config.trackers),
      'SiamFC weights': record['weights'],
      'Git revision': record['git_revision'],
  }
  path = reports.write_report(
      summary, results_dir, details=details, html_too=config.html,
      dpi=config.plot_dpi,
      vot=config.vot if config.benchmark == 'vot' else None)
  return summary, path



def serve_trax(name: str, config: ml_collections.ConfigDict) -> None:
  """Runs tracker ``name`` as a TraX server until the client quits.

  This is how the VOT toolkit runs a tracker (``protocol = trax`` in its
  trackers.ini): it sends each frame as an image path and the initial
  region as a rectangle (0-based x, y, w, h; the toolkit turns polygons
  into their bounding boxes), and gets a rectangle back for every frame.
  Messages go over stdin/stdout, or the socket named by TRAX_SOCKET.
  """
  try:
    import trax  # pylint: disable=g-import-not-at-top
  except ImportError:
    raise EvaluationError('the TraX server needs the vot-trax package'
                          ' (pip install vot-trax)') from None
  tracker = create_tracker(name, config)
  with trax.Server([trax.Region.RECTANGLE], [trax.Image.PATH],
                   tracker_name=name) as server:
    while True:
      request = server.wait()
      if request.type == trax.TraxStatus.QUIT:
        break
      image = sequences.read_image(request.image['color'].path())
      if request.type == trax.TraxStatus.INITIALIZE:
        x, y, width, height = request.objects[0][0].bounds()
        box = np.array([x + 1, y + 1, width, height], np.float64)
        tracker.init(image, box)
      else:
        box = np.asarray(tracker.update(image), np.float64)
      x, y, width, height = (float(v) for v in box)
      server.status([(trax.Rectangle.create(x - 1, y - 1, width, height),
                      {})])
