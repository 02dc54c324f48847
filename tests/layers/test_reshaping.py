"""Permute, RepeatVector, UpSampling1D/2D, ZeroPadding1D/2D, Cropping1D/2D: contract,
Keras 3 as oracle (outputs, symbolic shapes, config values), argument errors."""
import keras as k3
import numpy as np
import pytest

from gazelle.layers import reshaping
from gazelle.testing import run_layer_test

CASES = [
    ("Permute", {"dims": (2, 1)}, (2, 3, 4), (2, 4, 3)),
    ("Permute", {"dims": (3, 1, 2)}, (2, 3, 4, 5), (2, 5, 3, 4)),
    ("RepeatVector", {"n": 3}, (2, 4), (2, 3, 4)),
    ("UpSampling1D", {"size": 3}, (2, 4, 5), (2, 12, 5)),
    ("UpSampling2D", {}, (2, 3, 4, 5), (2, 6, 8, 5)),
    ("UpSampling2D", {"size": (1, 3), "data_format": "channels_first"}, (2, 3, 4, 5),
     (2, 3, 4, 15)),
    ("UpSampling2D", {"size": 2, "interpolation": "bilinear"}, (2, 3, 4, 5), (2, 6, 8, 5)),
    ("ZeroPadding1D", {"padding": (1, 2)}, (2, 4, 3), (2, 7, 3)),
    ("ZeroPadding2D", {"padding": 2}, (2, 3, 4, 5), (2, 7, 8, 5)),
    ("ZeroPadding2D", {"padding": ((1, 0), (0, 2)), "data_format": "channels_first"},
     (2, 3, 4, 5), (2, 3, 5, 7)),
    ("Cropping1D", {"cropping": (1, 2)}, (2, 6, 3), (2, 3, 3)),
    ("Cropping1D", {"cropping": (2, 0)}, (2, 6, 3), (2, 4, 3)),
    ("Cropping2D", {"cropping": ((1, 0), (2, 1))}, (2, 5, 6, 3), (2, 4, 3, 3)),
    ("Cropping2D", {"cropping": 1, "data_format": "channels_first"}, (2, 3, 5, 6),
     (2, 3, 3, 4)),
]


@pytest.mark.parametrize("name, kwargs, shape, out", CASES)
def test_matches_keras(name, kwargs, shape, out):
    run_layer_test(getattr(reshaping, name), kwargs, shape, out)
    x = np.random.default_rng(0).standard_normal(shape).astype("float32")
    ours = getattr(reshaping, name)(**kwargs)
    theirs = getattr(k3.layers, name)(**kwargs)
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)), rtol=1e-5, atol=1e-6)
    unknown = (None,) + tuple(None if i == 1 else d for i, d in enumerate(shape[1:], 1))
    assert tuple(ours.compute_output_shape(unknown)) == tuple(
        theirs.compute_output_shape(unknown))
    ours_config, theirs_config = ours.get_config(), theirs.get_config()
    assert set(ours_config) == set(theirs_config)
    for key in set(theirs_config) - {"name", "dtype", "trainable"}:
        assert ours_config[key] == theirs_config[key], key


@pytest.mark.parametrize("make, match", [
    (lambda: reshaping.Permute((0, 1)), "dims"),
    (lambda: reshaping.Permute((1, 3)), "dims"),
    (lambda: reshaping.RepeatVector(0), "`n`"),
    (lambda: reshaping.UpSampling1D(0), "`size`"),
    (lambda: reshaping.UpSampling2D((2, 0)), "`size`"),
    (lambda: reshaping.UpSampling2D(interpolation="area"), "interpolation"),
    (lambda: reshaping.ZeroPadding1D(-1), "padding"),
    (lambda: reshaping.ZeroPadding2D((1, 2, 3)), "padding"),
    (lambda: reshaping.Cropping2D(((1, 2, 3), 0)), r"cropping\[0\]"),
    (lambda: reshaping.Cropping1D(data_format="channels_last"), "unexpected keyword"),
    (lambda: reshaping.ZeroPadding2D(data_format="NHWC"), "data_format"),
])
def test_invalid_arguments(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def test_input_errors_name_the_layer():
    with pytest.raises(ValueError, match=r"'rep'.*expected ndim=2"):
        reshaping.RepeatVector(2, name="rep")(np.zeros((2, 3, 4), "float32"))
    with pytest.raises(ValueError, match=r"'crop'.*removes all of axis 1"):
        reshaping.Cropping1D((2, 2), name="crop")(np.zeros((2, 4, 3), "float32"))
    with pytest.raises(ValueError, match=r"removes all of axis 2"):
        reshaping.Cropping2D(((0, 0), (3, 3))).compute_output_shape((None, 8, 6, 3))
    with pytest.raises(ValueError, match=r"'perm'.*expected ndim=3"):
        reshaping.Permute((2, 1), name="perm")(np.zeros((2, 3), "float32"))
