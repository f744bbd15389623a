"""OTB per-attribute results: the annotation layouts, metrics and report.

Trees are generated in the layouts the attributes are published in
(``<seq>/attrs.txt``, the MATLAB toolkit's ``anno/att/<seq>.txt``, pysot's
``OTB100.json``); the numbers are checked against the OTB toolkit's
definition on hand-computed cases and against the overall OTB summary of
each attribute's sequences.
"""

import json
import pathlib

import ml_collections
import numpy as np
import PIL.Image
import pytest

from siamfc_jax import reports
from siamfc_jax import sequences
from siamfc_jax import tracker as tracker_lib
from siamfc_jax.configs import evaluate as evaluate_config
from siamfc_jax.evaluation import ope
from siamfc_jax.evaluation import otb
from siamfc_jax.evaluation import runner

SHARED_SEQUENCES = (pathlib.Path(__file__).resolve().parents[2] / 'shared'
                    / 'data' / 'sequences')
BOX = (1.0, 1.0, 10.0, 10.0)


def write_sequence(root: pathlib.Path, name: str, count: int) -> None:
  """``count`` 24x24 frames and a fixed 10x10 ground-truth box."""
  (root / name / 'img').mkdir(parents=True)
  for i in range(1, count + 1):
    PIL.Image.new('RGB', (24, 24), (9 * i, 0, 0)).save(
        root / name / 'img' / f'{i:04d}.jpg')
  (root / name / 'groundtruth_rect.txt').write_text(
      ''.join('1,1,10,10\n' for _ in range(count)))


def write_results(results_dir, tracker, entry, shifts) -> None:
  """Boxes of ``entry`` moved right by ``shifts`` pixels, one a frame."""
  boxes = np.tile(BOX, (len(shifts), 1))
  boxes[:, 0] += shifts
  otb.BENCHMARK.write(results_dir, tracker, entry, tracker_lib.TrackResult(
      boxes, np.full(len(shifts), np.nan), np.full(len(shifts), 0.01)))


@pytest.fixture
def otb_root(tmp_path):
  """Four sequences, annotated in each layout, and one without."""
  root = tmp_path / 'OTB100'
  for name, count in (('Basketball', 4), ('Biker', 2), ('Bird1', 3),
                      ('Bolt', 2), ('Boy', 2)):
    write_sequence(root, name, count)
  (root / 'Basketball' / 'attrs.txt').write_text('SV, OCC\n')
  (root / 'anno' / 'att').mkdir(parents=True)
  # The toolkit's columns: IV, OPR, SV, OCC, DEF, MB, FM, IPR, OV, BC, LR.
  (root / 'anno' / 'att' / 'biker.txt').write_text(
      '1\t0\t1\t0\t0\t0\t0\t0\t0\t0\t0\n')
  (root / 'OTB100.json').write_text(json.dumps({
      'Bird1': {'video_dir': 'Bird1', 'attr': ['DEF', 'FM', 'OV']},
      'Bolt': {'video_dir': 'Bolt', 'attr': ['OCC', 'DEF', 'IPR', 'OPR']},
      # attrs.txt comes first: this list is not Basketball's.
      'Basketball': {'video_dir': 'Basketball', 'attr': ['LR']}}))
  return root


def test_attributes_read_in_each_published_layout(otb_root):
  entries = otb.BENCHMARK.load(otb_root)
  assert {e.name: e.attributes for e in entries} == {
      'Basketball': ('SV', 'OCC'), 'Biker': ('IV', 'SV'),
      'Bird1': ('DEF', 'FM', 'OV'), 'Bolt': ('OCC', 'DEF', 'IPR', 'OPR'),
      'Boy': ()}
  assert [e.num_frames for e in entries] == [4, 2, 3, 2, 2]


def test_toolkit_flags_follow_its_column_order(tmp_path):
  path = tmp_path / 'seq.txt'
  for column, tag in enumerate(otb.TOOLKIT_COLUMNS):
    flags = ['0'] * 11
    flags[column] = '1'
    path.write_text(','.join(flags))  # MATLAB's load takes commas too.
    assert otb.read_flags(path) == (tag,)
  assert otb.TOOLKIT_COLUMNS[:3] == ('IV', 'OPR', 'SV')  # perfPlot.m.
  assert sorted(otb.TOOLKIT_COLUMNS) == sorted(otb.ATTRIBUTES)


def test_bad_attribute_files_are_clear_errors(otb_root):
  (otb_root / 'Basketball' / 'attrs.txt').write_text('SV, XX\n')
  with pytest.raises(sequences.SequenceError, match='unknown attribute XX'):
    otb.BENCHMARK.load(otb_root)
  (otb_root / 'Basketball' / 'attrs.txt').unlink()
  (otb_root / 'anno' / 'att' / 'biker.txt').write_text('1 0 1\n')
  with pytest.raises(sequences.SequenceError, match="toolkit's 11 flags"):
    otb.BENCHMARK.load(otb_root)
  (otb_root / 'anno' / 'att' / 'biker.txt').unlink()
  (otb_root / 'OTB100.json').write_text('[1, 2]')
  with pytest.raises(sequences.SequenceError, match='not a pysot OTB file'):
    otb.BENCHMARK.load(otb_root)


def test_per_attribute_numbers_hand_computed(otb_root, tmp_path):
  """The OTB toolkit's definition, worked out by hand.

  Basketball (SV, OCC), 4 frames moved by 0, 5, 20 and 20.5 px: IoUs 1,
  1/3, 0, 0 (10x10 boxes), so the success rate is 2/4 at the 7 thresholds
  0..0.30, 1/4 at the 13 thresholds 0.35..0.95 and 0 at 1, an AUC of
  6.75/21; centre errors 0, 5, 20, 20.5, so 3/4 within 20 px. Biker (IV,
  SV), exact: success 1 below the threshold 1 (AUC 20/21), precision 1.
  """
  entries = otb.BENCHMARK.load(otb_root, names=('Basketball', 'Biker'))
  results = tmp_path / 'results'
  write_results(results, 'ncc', entries[0], [0, 5, 20, 20.5])
  write_results(results, 'ncc', entries[1], [0, 0])
  summary = otb.BENCHMARK.summarize(results, 'ncc', entries, None)
  by_tag = summary['attributes']
  assert list(by_tag) == ['IV', 'SV', 'OCC']  # The paper's order.
  basketball = 6.75 / 21
  assert by_tag['OCC']['success_auc'] == pytest.approx(basketball)
  assert by_tag['OCC']['precision_20px'] == 0.75
  assert by_tag['IV']['success_auc'] == pytest.approx(20 / 21)
  assert by_tag['SV']['sequences'] == ['Basketball', 'Biker']
  assert by_tag['SV']['success_auc'] == pytest.approx(
      (basketball + 20 / 21) / 2)
  assert by_tag['SV']['precision_20px'] == pytest.approx((0.75 + 1) / 2)
  np.testing.assert_allclose(
      by_tag['OCC']['success_curve'], [0.5] * 7 + [0.25] * 13 + [0.0])
  assert by_tag['OCC']['precision_curve'][19:22] == [0.5, 0.75, 1.0]
  assert by_tag['SV']['name'] == 'scale variation'
  assert summary['unannotated'] == []


def test_each_attribute_is_the_overall_summary_of_its_sequences(otb_root,
                                                                tmp_path):
  entries = otb.BENCHMARK.load(otb_root)
  results = tmp_path / 'results'
  rng = np.random.default_rng(0)
  for entry in entries:
    write_results(results, 'ncc', entry, rng.uniform(0, 12, entry.num_frames))
  summary = otb.BENCHMARK.summarize(results, 'ncc', entries, None)
  assert summary['unannotated'] == ['Boy']
  tagged = {tag for e in entries for tag in e.attributes}
  assert set(summary['attributes']) == tagged
  for tag, numbers in summary['attributes'].items():
    subset = [e for e in entries if tag in e.attributes]
    assert numbers['sequences'] == [e.name for e in subset]
    overall = otb.BENCHMARK.summarize(results, 'ncc', subset, None)['overall']
    for key in ('success_auc', 'precision_20px', 'success_curve',
                'precision_curve'):
      assert numbers[key] == overall[key], (tag, key)
  # The overall numbers still cover every sequence, annotated or not.
  assert summary['overall'] == ope.summarize(
      otb.BENCHMARK.results(results, 'ncc', entries))['overall']


def summary_of(otb_root, results, trackers) -> dict:
  entries = otb.BENCHMARK.load(otb_root)
  for tracker, shift in trackers.items():
    for entry in entries:
      write_results(results, tracker, entry,
                    np.arange(entry.num_frames) * shift)
  return dict(benchmark='otb', sequences=[e.name for e in entries],
              incomplete={}, trackers={
                  tracker: otb.BENCHMARK.summarize(results, tracker, entries,
                                                   None)
                  for tracker in trackers})


def test_report_table_figures_and_attributes_json(otb_root, tmp_path):
  results = tmp_path / 'results'
  summary = summary_of(otb_root, results, {'slow': 6.0, 'fast': 1.0})
  report = reports.write_report(
      summary, results, benchmark=otb.BENCHMARK,
      config=ml_collections.ConfigDict(), details={}, html_too=True, dpi=30)

  written = json.loads((results / 'attributes.json').read_text())
  assert written['unannotated'] == ['Boy']
  assert written['success_thresholds'] == pytest.approx(
      np.linspace(0, 1, 21).tolist())
  occlusion = written['attributes']['OCC']
  assert occlusion['name'] == 'occlusion'
  assert occlusion['sequences'] == ['Basketball', 'Bolt']
  for tracker in ('slow', 'fast'):
    numbers = summary['trackers'][tracker]['attributes']['OCC']
    assert occlusion['trackers'][tracker] == {
        k: numbers[k] for k in ('success_auc', 'precision_20px',
                                'success_curve', 'precision_curve')}

  text = report.read_text()
  fast = summary['trackers']['fast']['attributes']['OCC']
  slow = summary['trackers']['slow']['attributes']['OCC']
  assert '| Attribute | Sequences | slow AUC / P@20 | fast AUC / P@20 |' in text
  assert (f'| OCC (occlusion) | 2 | {slow["success_auc"]:.3f} /'
          f' {slow["precision_20px"]:.3f} | {fast["success_auc"]:.3f} /'
          f' {fast["precision_20px"]:.3f} |') in text
  assert 'left out of these: Boy.' in text
  for name in ('attribute_success_plots.png', 'attribute_precision_plots.png'):
    assert f'![{name}]({name})' in text
    assert (results / name).read_bytes()[:4] == b'\x89PNG'
  assert 'attribute_success_plots.png' in (results / 'report.html').read_text()
  printed = reports.overall_text(summary, report, otb.BENCHMARK)
  assert printed.endswith(f'\nattributes: {results / "attributes.json"}')


def test_attribute_panels_titled_and_labelled_as_the_toolkit(otb_root,
                                                            tmp_path):
  summary = summary_of(otb_root, tmp_path / 'results',
                       {'slow': 6.0, 'fast': 1.0})
  by_attribute = reports.attribute_results(summary)
  for spec in reports.OPE_PLOTS:
    figure = reports.attribute_figure(by_attribute, spec)
    panels = [axes for axes in figure.axes if axes.axison]
    assert [a.get_title() for a in panels] == [
        f'{entry["name"]} ({len(entry["sequences"])})'
        for entry in by_attribute['attributes'].values()]
    for axes, entry in zip(panels, by_attribute['attributes'].values()):
      scores = {n: r[spec.score] for n, r in entry['trackers'].items()}
      best_first = sorted(scores, key=lambda n: -scores[n])
      assert [t.get_text() for t in axes.get_legend().get_texts()] == [
          f'{n} [{scores[n]:.3f}]' for n in best_first]
      assert len(axes.get_lines()) == 2  # Both trackers in one plot.
    assert figure.texts[0].get_text() == spec.title  # The suptitle.


def test_no_attribute_section_without_annotations(tmp_path):
  root = tmp_path / 'otb'
  write_sequence(root, 'Alpha', 2)
  [entry] = otb.BENCHMARK.load(root)
  assert entry.attributes == ()
  write_results(tmp_path / 'results', 'ncc', entry, [0, 1])
  summary = otb.BENCHMARK.summarize(tmp_path / 'results', 'ncc', [entry],
                                    None)
  assert 'attributes' not in summary
  assert reports.attribute_results(dict(trackers={'ncc': summary})) == {}


def test_runner_writes_attribute_results(otb_root, tmp_path):
  config = evaluate_config.get_config()
  config.root = str(otb_root)
  config.results_dir = str(tmp_path / 'results')
  config.trackers = ('ncc',)
  config.progress = False
  config.plot_dpi = 30
  runner.track(otb.BENCHMARK, config)
  record, recorded = runner.read_record(config.results_dir)
  summary, report = runner.report(otb.BENCHMARK, recorded, record)
  written = json.loads((tmp_path / 'results' / 'attributes.json').read_text())
  assert written['attributes']['DEF']['sequences'] == ['Bird1', 'Bolt']
  assert written['attributes']['DEF']['trackers']['ncc']['success_auc'] == (
      summary['trackers']['ncc']['attributes']['DEF']['success_auc'])
  assert '## Per attribute' in report.read_text()


@pytest.mark.shared
def test_shared_otb_sequences_with_attribute_files():
  if not SHARED_SEQUENCES.is_dir():
    pytest.skip(f'{SHARED_SEQUENCES} not found (shared data absent)')
  names = [p.name for p in sorted(SHARED_SEQUENCES.glob('otb_*'))]
  found = otb.read_attributes(SHARED_SEQUENCES, names)
  if not found:
    pytest.skip(f'{SHARED_SEQUENCES}: no OTB attribute annotations'
                ' (<seq>/attrs.txt, anno/att/<seq>.txt or OTB100.json) for'
                ' its otb_* sequences (see data/SOURCES.md)')
  entries = otb.BENCHMARK.load(SHARED_SEQUENCES, names=tuple(found),
                               max_frames=5)
  for entry in entries:
    assert entry.attributes == found[entry.name]
    assert set(entry.attributes) <= set(otb.ATTRIBUTES)
