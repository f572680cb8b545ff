"""Faint hot columns and rows found over their length, and what must not look like one."""

import numpy as np
import pytest

from ccdstudio.imaging.hot_lines import best_segments, find_hot_lines, line_gaps


def test_best_segments_finds_the_run_with_the_largest_sum():
    score = np.full((12, 3), -1.0, np.float32)
    score[3:8, 0] = 2.0  # sum 10
    score[1:3, 1] = 2.0  # sum 4: below the threshold
    score[0:2, 2], score[2:6, 2], score[6:11, 2] = 3.0, -5.0, 3.0  # two runs, 6 and 15, apart
    found = best_segments(score, min_score=5.0, rounds=2)
    assert np.flatnonzero(found[:, 0]).tolist() == [3, 4, 5, 6, 7]
    assert not found[:, 1].any()
    assert np.flatnonzero(found[:, 2]).tolist() == [0, 1, 6, 7, 8, 9, 10]


@pytest.mark.parametrize("transpose", [False, True])
def test_a_one_sigma_hot_column_is_found_over_its_length(transpose):
    rng = np.random.default_rng(1)
    z = rng.normal(size=(600, 400)).astype(np.float32)
    z[150:450, 200] += 1.0  # invisible pixel by pixel
    truth = np.zeros(z.shape, bool)
    truth[150:450, 200] = True
    if transpose:  # a hot row
        z, truth = z.T.copy(), truth.T.copy()
    found = find_hot_lines(z)
    assert (found & truth).sum() >= 0.9 * truth.sum()
    assert (found & ~truth).sum() <= 10


@pytest.mark.parametrize("seed", [0, 1])
def test_noise_steps_and_glow_make_no_lines(seed):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[:800, :700]
    glow = 300.0 * np.exp(-np.hypot(y, x) / 300.0)  # a bright corner with its shot noise
    z = rng.normal(size=y.shape) * np.sqrt(1 + glow / 4) + glow
    z[:, :90] += 5.0  # the edge of a flat glowing band
    z[:, 400:] += 0.8  # a faint step
    assert not find_hot_lines(z.astype(np.float32)).any()


def test_excluded_pixels_neither_make_nor_break_a_line():
    rng = np.random.default_rng(3)
    z = rng.normal(size=(500, 300)).astype(np.float32)
    z[100:400, 50] += 1.5
    z[200:220, 50] = np.nan  # a gap of unusable pixels inside the line
    track = np.zeros(z.shape, bool)
    track[50:450, 150:152] = True  # a straight cluster track along a column, which the caller knows
    z[track] += 30.0
    found = find_hot_lines(z, exclude=track)
    assert found[100:200, 50].all() and found[220:400, 50].all()
    assert not found[:, 140:160].any()
    assert find_hot_lines(z)[:, 150:152].any()  # not excluded, the track would pass for a hot column


def test_line_gaps_fill_short_gaps_between_runs_of_hot_pixels_along_a_line():
    hot = np.zeros((200, 120), bool)
    hot[10:60, 5] = hot[80:150, 5] = True  # a gap of 20 rows in a hot column
    hot[10:60, 30] = hot[100:150, 30] = True  # one of 40: two segments
    hot[20:23, 50] = hot[30:33, 50] = True  # runs of 3: single hot pixels, not a line
    hot[40, 60:100] = hot[40, 105:110] = True  # a hot row with a gap of 5 columns
    gaps = line_gaps(hot)
    assert np.flatnonzero(gaps[:, 5]).tolist() == list(range(60, 80))
    assert not gaps[:, 30].any() and not gaps[:, 50].any()
    assert np.flatnonzero(gaps[40]).tolist() == list(range(100, 105))
    assert gaps.sum() == 25 and not (gaps & hot).any()
