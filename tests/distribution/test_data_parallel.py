"""keras.distribution.DataParallel: the same training over 1, 2 and 8 devices.

Forced host devices (XLA_FLAGS=--xla_force_host_platform_device_count=N) need a fresh
process, so each device count runs dp_child.py in a subprocess."""
import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import gazelle as keras

CHILD = pathlib.Path(__file__).with_name("dp_child.py")


def run_child(n):
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    out = subprocess.run([sys.executable, str(CHILD), str(n)], capture_output=True, text=True,
                         timeout=240, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def one_device():
    return run_child(1)


@pytest.mark.parametrize("n", [2, pytest.param(8, marks=pytest.mark.slow)])
def test_data_parallel_matches_one_device(one_device, n):
    many = run_child(n)
    assert many["devices"] == n
    assert "spec=P()" in many["weight_sharding"]          # weights replicated on the mesh
    assert many["all_reduce"] >= 1                         # the step really is partitioned
    assert one_device["all_reduce"] == 0
    for key in ("loss", "val_loss", "accuracy", "evaluate"):
        np.testing.assert_allclose(many[key], one_device[key], rtol=2e-5, atol=1e-6,
                                   err_msg=key)
    for a, b in zip(many["weights"], one_device["weights"]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(many["predict"], one_device["predict"], rtol=1e-4, atol=1e-5)
    assert one_device["loss"][-1] < one_device["loss"][0]  # it trained at all


def test_list_devices_and_mesh():
    names = keras.distribution.list_devices()
    assert names and all(":" in name for name in names)
    assert keras.distribution.list_devices("cpu") == names
    mesh = keras.distribution.DeviceMesh((len(names),), ["batch"], devices=names)
    dp = keras.distribution.DataParallel(device_mesh=mesh)
    assert dp.batch_dim_name == "batch" and dp.num_devices == len(names)


def test_bad_arguments_say_what_was_expected():
    with pytest.raises(ValueError, match="Unknown device 'tpu:7'"):
        keras.distribution.DataParallel(devices=["tpu:7"])
    with pytest.raises(ValueError, match="needs 4 devices"):
        keras.distribution.DeviceMesh((4,), ["batch"], devices=keras.distribution.list_devices())
    with pytest.raises(TypeError, match="DataParallel or None"):
        keras.distribution.set_distribution("data_parallel")
    with pytest.raises(ValueError, match="not both"):
        keras.distribution.DataParallel(device_mesh=keras.distribution.DeviceMesh(
            (1,), ["batch"]), devices=["cpu:0"])


def test_scope_sets_and_restores_the_distribution():
    dp = keras.distribution.DataParallel()
    assert keras.distribution.distribution() is None
    with dp.scope():
        assert keras.distribution.distribution() is dp
    assert keras.distribution.distribution() is None
