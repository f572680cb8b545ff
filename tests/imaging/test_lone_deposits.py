"""Deposits of one or two pixels among the hot pixels: charge beside them outside the readout's trail."""

import numpy as np
from scipy import ndimage

from ccdstudio.imaging.lone_deposits import (
    LonePixels, deposits, following, in_trails, lone_pixels, trail_pixels, trail_share, trailed_pixels,
    trailing_sides)
from ccdstudio.imaging.objects import boxed_objects


def frame_with_lone_pixels(rng: np.random.Generator, trail: float = 0.03):
    """``(z, hot, is_deposit)``: a frame of unit noise with 40 hot pixels, each trailing ``trail`` of its
    charge into the next column, and 40 deposits that leak 4 % of theirs into each of their four neighbours
    (one of them a two-pixel deposit); ``hot`` marks the brightest pixel of each (what a network called
    hot_pixel), ``is_deposit`` says which objects of ``ndimage.label(hot)`` are deposits."""
    z = rng.normal(size=(200, 400)).astype(np.float32)
    hot = np.zeros(z.shape, bool)
    deposit = np.zeros(z.shape, bool)
    for k in range(80):
        y, x = 10 + 20 * (k // 20) * 2 + 5 * (k % 2), 10 + 19 * (k % 20)
        charge = rng.uniform(150.0, 400.0)
        z[y, x] += charge
        hot[y, x] = True
        if k % 2:  # a deposit: diffusion on every side
            for dy, dx in ((0, 1), (0, -1), (1, 0), (-1, 0)):
                z[y + dy, x + dx] += 0.04 * charge
            deposit[y, x] = True
            if k == 1:  # the brightest two pixels of a deposit
                hot[y, x + 1] = deposit[y, x + 1] = True
        else:
            z[y, x + 1] += trail * charge
    objects, count = ndimage.label(hot, np.ones((3, 3), bool))
    is_deposit = ndimage.maximum(deposit, objects, np.arange(1, count + 1)).astype(bool)
    return z, objects, is_deposit


def test_the_trail_is_found_on_the_side_read_after_the_hot_pixels(rng):
    z, objects, _ = frame_with_lone_pixels(rng)
    boxes = boxed_objects(objects)
    lone = lone_pixels(z, objects, boxes)
    assert trailing_sides(lone) == (0, 1)
    assert trailing_sides(lone_pixels(-z, objects, boxes)) == (0, 0)  # no bright lone pixels to tell
    mirrored = lone_pixels(z[:, ::-1], objects[:, ::-1], boxed_objects(objects[:, ::-1]))
    assert trailing_sides(mirrored) == (0, -1)
    without = lone_pixels(frame_with_lone_pixels(rng, trail=0.0)[0], objects, boxes)
    assert trailing_sides(without) == (0, 0)


def test_a_cluster_beside_one_hot_pixel_does_not_hide_the_trail(rng):
    z, objects, is_deposit = frame_with_lone_pixels(rng)
    y, x = np.argwhere(objects == np.flatnonzero(~is_deposit)[0] + 1)[0]
    z[y, x - 1] += 0.8 * z[y, x]  # on the side before it, more charge than all the trails together
    assert trailing_sides(lone_pixels(z, objects, boxed_objects(objects))) == (0, 1)


def test_deposits_leak_on_every_side_hot_pixels_only_trail(rng):
    z, objects, is_deposit = frame_with_lone_pixels(rng)
    lone = lone_pixels(z, objects, boxed_objects(objects))
    assert lone.index.size == objects.max()  # every object measured, the two-pixel one too
    found = deposits(lone, trailing_sides(lone))
    assert np.array_equal(np.sort(found), np.flatnonzero(is_deposit) + 1)
    # Not told where the trail is, hot pixels whose trail reaches the level pass for deposits.
    assert np.isin(np.flatnonzero(~is_deposit) + 1, deposits(lone, (0, 0))).all()


def test_lone_pixels_are_measured_against_their_surroundings(rng):
    z, objects, _ = frame_with_lone_pixels(rng)
    z = 1000.0 + 7.0 * z  # another pedestal and noise: the same figures in local noises
    lone = lone_pixels(z, objects, boxed_objects(objects))
    assert np.all(lone.peak > 100) and np.isnan(lone.neighbours[:, 1, 1]).all()
    assert np.array_equal(objects[tuple(lone.position.T)], lone.index)  # at the brightest pixel
    lower = lone_pixels(z[100:], objects[100:], boxed_objects(objects[100:]), first_row=100)
    assert np.array_equal(objects[tuple(lower.position.T)], lower.index) and lower.index.size < lone.index.size
    assert np.array_equal(lone.take(lone.peak > 250).index, lone.index[lone.peak > 250])
    edge = np.zeros(z.shape, np.int32)
    edge[1, 1] = 1
    assert lone_pixels(z, edge, boxed_objects(edge)).index.size == 0  # no ring around it
    assert deposits(LonePixels.join([]), (0, 0)).size == 0


def two_lone_pixels(peaks: tuple[float, float], rings: tuple[float, float]) -> LonePixels:
    """Two measured lone pixels (objects 1 and 2) of these ``peaks`` and ring maxima, each with a neighbour of 8
    noises in the previous row."""
    neighbours = np.zeros((2, 3, 3))
    neighbours[:, 1, 1] = np.nan
    neighbours[:, 0, 1] = 8.0
    return LonePixels(np.array([1, 2]), np.array(peaks), neighbours, np.array(rings), np.full((2, 3, 3), np.nan),
                      np.array([[10, 10], [20, 20]]))


def test_a_bright_hot_pixels_faint_trail_is_no_deposit():
    """8 noises beside a pixel of 3000 is a trail of 0.3 % (charge-transfer losses of a few 1e-6 a transfer,
    too faint to show on the frame's other lone pixels); beside a pixel of 100 it is a deposit's leak."""
    assert deposits(two_lone_pixels((3000.0, 100.0), (2.5, 2.5)), (0, 0)).tolist() == [2]


def test_charge_beside_a_lone_pixel_counts_only_where_its_surroundings_are_quieter():
    """Among dark or glow electrons (a ring pixel of 10 noises) a neighbour of 8 tells nothing."""
    assert deposits(two_lone_pixels((100.0, 100.0), (10.0, 2.0)), (0, 0)).tolist() == [2]


def test_the_local_noise_is_at_least_the_read_noise():
    """A ring whose values scatter by less than the read noise (here not at all) does not make 3 read
    noises beside a hot pixel a deposit's leak."""
    z = np.zeros((20, 20), np.float32)
    z[10, 10], z[9, 10] = 50.0, 3.0
    objects = np.zeros(z.shape, np.int32)
    objects[10, 10] = 1
    lone = lone_pixels(z, objects, boxed_objects(objects))
    assert lone.peak.tolist() == [50.0] and lone.neighbours[0, 0, 1] == 3.0
    assert deposits(lone, (0, 0)).size == 0


def test_following_steps_once_onto_the_trailing_sides():
    mask = np.zeros((5, 5), bool)
    mask[2, 2] = True
    for trail, after in (((1, 0), (3, 2)), ((-1, 0), (1, 2)), ((0, 1), (2, 3)), ((0, -1), (2, 1))):
        assert np.argwhere(following(mask, trail)).tolist() == [list(after)]
    assert np.argwhere(following(mask, (1, 1))).tolist() == [[2, 3], [3, 2]]
    assert not following(mask, (0, 0)).any()
    edge = np.zeros((5, 5), bool)
    edge[4, 4] = True
    assert not following(edge, (1, 1)).any()  # nothing follows past the frame's edge


def test_a_lone_pixel_and_its_trail_taken_for_a_cluster_is_a_hot_pixel(rng):
    """Objects of a lone pixel and the pixel after it (what a network takes for a small track): the hot pixels
    among them have charge beside them only in their trail, the deposits leak on every side."""
    z, objects, is_deposit = frame_with_lone_pixels(rng)
    alone = lone_pixels(z, objects, boxed_objects(objects))
    shares = trail_share(alone, (0, 1))
    assert list(shares) == [(1, 2)] and 0.03 < shares[1, 2] < 0.06  # the hot pixels' 3 %, the deposits' 4 %
    assert trail_share(alone, (0, 0)) == {}
    with_trail = np.where(objects > 0, objects, following(objects > 0, (0, 1)) * np.roll(objects, 1, axis=1))
    lone = lone_pixels(z, with_trail, boxed_objects(with_trail))
    assert np.allclose(lone.own[~is_deposit, 1, 2], 0.03 * lone.peak[~is_deposit], atol=4.0)
    hot = np.flatnonzero(~is_deposit) + 1
    assert np.array_equal(np.sort(trailed_pixels(lone, (0, 1), shares)), hot)
    assert np.array_equal(np.sort(trailed_pixels(alone, (0, 1), shares)), hot)
    assert trailed_pixels(lone, (0, 0), {}).size == 0  # no trail, nothing to tell them by
    assert trailed_pixels(lone, (1, 0), trail_share(alone, (1, 0))).size == 0  # their second pixel: no trail
    assert trailed_pixels(lone, (0, 1), {(1, 2): 0.002}).size < 3  # more in it than the frame's trail
    assert trailed_pixels(alone, (0, 1), {(1, 2): 0.002}).size < 3  # the same, the trail not in the object
    faint = lone_pixels(z / 20.0, with_trail, boxed_objects(with_trail))
    assert trailed_pixels(faint, (0, 1), shares).size == 0  # too faint for the trail to show


def test_a_deposit_beside_a_lone_pixel_on_a_side_that_trails_less_is_no_trail():
    """Trails on both sides, 10 % into the next row and 0.1 % into the next column: a pixel holding 4 % in the
    next column is a deposit's leak, not its trail."""
    neighbours = np.full((2, 3, 3), 0.5)
    neighbours[:, 1, 1] = np.nan
    neighbours[:, 2, 1] = 50.0  # 10 % of 500 in the next row
    neighbours[1, 1, 2] = 20.0
    lone = LonePixels(np.array([1, 2]), np.array([500.0, 500.0]), neighbours, np.array([1.0, 1.0]),
                      np.full((2, 3, 3), np.nan), np.array([[10, 10], [20, 20]]))
    assert trailed_pixels(lone, (1, 1), {(2, 1): 0.1, (1, 2): 0.001}).tolist() == [1]


def test_objects_wholly_in_a_hot_pixels_trail(rng):
    z = rng.normal(size=(40, 60)).astype(np.float32)
    hot = np.zeros(z.shape, bool)
    objects = np.zeros(z.shape, np.int32)
    for k, x in enumerate(range(5, 55, 10), start=1):
        hot[10, x] = True
        z[10, x] += 400.0
        objects[11, x] = k  # the pixel after the hot pixel in a trail along the columns
    objects[12, 15] = 2  # and the one after that
    z[11, 25] += 300.0  # brighter than half the hot pixel: not its trail
    objects[11, 36] = 4  # reaching beside the trail
    objects[10, 46] = 5  # beside the hot pixel, not after it
    objects[11, 45] = 0
    objects[20:22, 30] = 6  # after no hot pixel
    boxes = boxed_objects(objects)
    assert in_trails(z, objects, hot, boxes, (1, 0)).tolist() == [1, 2]
    assert in_trails(z, objects, hot, boxes, (0, 1)).tolist() == [5]
    assert in_trails(z, objects, hot, boxes, (1, 0), share=1.0).tolist() == [1, 2, 3]


def test_the_trail_beside_a_hot_pixel_is_where_it_holds_a_read_noise(rng):
    z, objects, is_deposit = frame_with_lone_pixels(rng)
    hot = np.isin(objects, np.flatnonzero(~is_deposit) + 1)
    lone = lone_pixels(z, objects, boxed_objects(objects))
    lone = lone.take(np.isin(lone.index, np.flatnonzero(~is_deposit) + 1))
    shares = trail_share(lone, (0, 1))
    found = trail_pixels(lone, (0, 1), shares)
    assert np.array_equal(np.sort(np.ravel_multi_index(found.T, z.shape)), np.flatnonzero(following(hot, (0, 1))))
    assert trail_pixels(lone, (0, 1), {(1, 2): 0.001}).size == 0  # a trail of 0.1 % cannot reach a noise
    # Where the pixel after holds less than a read noise, it is no trail, however bright the hot pixel.
    z[:, :] = np.where(following(hot, (0, 1)), 0.5, z)
    faint = lone_pixels(z, objects, boxed_objects(objects))
    assert trail_pixels(faint.take(np.isin(faint.index, lone.index)), (0, 1), shares).size == 0
