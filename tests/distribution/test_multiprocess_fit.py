"""gazelle's own model.fit / evaluate / predict in a 2-process job on loopback.

fit_child.py runs in two processes that join one JAX job through
`gazelle.distribution.initialize("127.0.0.1:PORT", 2, i)` (gloo CPU collectives), set
`DataParallel` over `keras.distribution.list_devices()` (the devices of both processes),
build the same seeded model and pass the SAME full arrays to fit (with a validation split
and a short last batch), evaluate, predict and a second fit. A third process runs the
same script alone on one device with the same global batches: the reference.

Checks: the job spans both processes and keeps the weights replicated on all devices;
both processes end with bit-identical weights, logs and predictions; these equal the
one-process run (float tolerance: the gradient all-reduce sums in another order); and
data that differs between the processes is refused by every process.

The job is killed after RUN_TIMEOUT_S (the workers print their stacks 10 s earlier). If
the two processes cannot even form a job and run one collective (no loopback, no gloo),
the tests skip and say why; after that, any failure is gazelle's.

Run:  python -m pytest -q tests/distribution/test_multiprocess_fit.py
Also 2 processes x 2 devices each:  GAZELLE_TEST_2X2=1 python -m pytest -q ...
"""
import json
import os
import sys
import time

import numpy as np
import pytest

import _workers

# Heavy (processes killed or spawned, many fuzz cases): CI's slow pass runs it.
pytestmark = pytest.mark.slow

CHILD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fit_child.py")
RUN_TIMEOUT_S = 120       # hard ceiling for the job; a normal run takes 10-30 s


def _start(tmp_path, name, num_processes, process_id, local_devices, port):
    out = tmp_path / f"{name}.json"
    env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "JAX_ENABLE_X64")}
    cmd = [sys.executable, CHILD, "--process-id", str(process_id),
           "--num-processes", str(num_processes), "--port", str(port),
           "--local-devices", str(local_devices), "--out", str(out),
           "--dump-after", str(RUN_TIMEOUT_S - 10)]
    return _workers.start(cmd, env, out, tmp_path / f"{name}.log")


def _run(tmp_path, local_devices):
    """The reference (one process, one device) and the 2-process job, side by side."""
    for attempt in range(2):                     # a second try only after a port race
        tmp = tmp_path / f"try{attempt}"
        tmp.mkdir()
        port = _workers.free_port()
        deadline = time.monotonic() + RUN_TIMEOUT_S
        ref = [_start(tmp, "reference", 1, 0, 1, 0)]
        job = [_start(tmp, f"process{i}", 2, i, local_devices, port) for i in range(2)]
        job_msg = _workers.wait_all(job, deadline)
        ref_msg = _workers.wait_all(ref, deadline)
        assert not ref_msg, "the one-process reference failed: " + ref_msg + _workers.logs(ref)
        if not job_msg:
            reference = json.loads(ref[0][1].read_text())
            return reference, [json.loads(out.read_text()) for _, out, _ in job]
        logs = _workers.logs(job)
        if "address already in use" in logs.lower() and not attempt:
            continue
        joined = all(os.path.exists(str(out) + ".joined") for _, out, _ in job)
        if not joined:
            pytest.skip("two JAX processes on loopback with gloo collectives cannot form a "
                        f"job here: {job_msg}\n{logs[-1500:]}")
        pytest.fail(f"2-process fit failed after the job formed: {job_msg}\n{logs}")
    raise AssertionError("unreachable")


CONFIGS = ["2x1"] + (["2x2"] if os.environ.get("GAZELLE_TEST_2X2") else [])


@pytest.fixture(scope="module", params=CONFIGS)
def runs(request, tmp_path_factory):
    local_devices = int(request.param.split("x")[1])
    reference, workers = _run(tmp_path_factory.mktemp(request.param), local_devices)
    workers.sort(key=lambda r: r["process_index"])
    return {"local_devices": local_devices, "reference": reference, "workers": workers}


def _close(a, b, what, rtol=1e-4, atol=1e-5):
    np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64),
                               rtol=rtol, atol=atol, err_msg=what)


def _same_floats(a, b, what):
    if isinstance(a, dict):
        assert sorted(a) == sorted(b), what
        for key in a:
            _same_floats(a[key], b[key], f"{what}[{key}]")
    elif isinstance(a, list) and a and isinstance(a[0], (list, dict)):
        assert len(a) == len(b), what
        for i, (u, v) in enumerate(zip(a, b)):
            _same_floats(u, v, f"{what}[{i}]")
    else:
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=what)


def test_the_job_spans_both_processes_with_replicated_weights(runs):
    n_local = runs["local_devices"]
    assert [r["process_index"] for r in runs["workers"]] == [0, 1]
    for r in runs["workers"]:
        assert r["process_count"] == 2
        assert r["local_device_count"] == n_local
        assert len(r["devices"]) == 2 * n_local          # list_devices(): every process's
        assert r["weight_spans_processes"]               # weights live on both processes
        assert r["weight_fully_replicated"]
    assert runs["reference"]["devices"] == ["cpu:0"]


def test_both_processes_end_identical(runs):
    p0, p1 = runs["workers"]
    for key in ("weights", "history", "evaluate", "history_again", "weights_again"):
        _same_floats(p0[key], p1[key], f"{key}: process 0 vs process 1")


def test_fit_and_evaluate_match_one_process(runs):
    ref, p0 = runs["reference"], runs["workers"][0]
    _same_floats(p0["initial_weights"], ref["initial_weights"], "initial weights")
    for key in ("weights", "weights_again"):
        assert len(p0[key]) == len(ref[key])
        for i, (a, b) in enumerate(zip(p0[key], ref[key])):
            _close(a, b, f"{key}[{i}]: 2 processes vs 1")
    for key in ("history", "history_again", "evaluate"):
        assert sorted(p0[key]) == sorted(ref[key]), key
        for name in ref[key]:
            _close(p0[key][name], ref[key][name], f"{key}[{name}]: 2 processes vs 1",
                   rtol=2e-5, atol=1e-6)
    # It trained at all, so equal weights are not two untouched initializations.
    moved = max(np.abs(np.asarray(a) - np.asarray(b)).max()
                for a, b in zip(ref["weights"], ref["initial_weights"]))
    assert moved > 1e-3
    assert set(ref["history"]) == {"loss", "accuracy", "val_loss", "val_accuracy"}


def test_predict_matches_one_process(runs):
    ref, p0, p1 = runs["reference"], *runs["workers"]
    errors = [r.get("predict_error") for r in (p0, p1)]
    assert errors == [None, None], (
        "predict() failed in the 2-process job (an output split over both processes read "
        "with jax.device_get; trainer.predict_source must read it with "
        f"distribute.to_host): {errors[0]}")
    assert np.asarray(p0["predict"]).shape == (70, 3)
    _same_floats(p0["predict"], p1["predict"], "predict: process 0 vs process 1")
    _close(p0["predict"], ref["predict"], "predict: 2 processes vs 1")


def test_different_data_on_the_processes_is_refused_by_every_process(runs):
    for r in runs["workers"]:
        assert r["mismatch_error"] is not None, \
            f"process {r['process_index']} trained on data that differs between processes"
        assert "passed different arrays" in r["mismatch_error"]


# -- in this process (one process): the helpers are no-ops or plain copies ---------------
def test_to_host_and_place_in_one_process():
    import jax

    import gazelle as keras
    from gazelle.training import distribute
    dist = keras.distribution.DataParallel(devices=keras.distribution.list_devices()[:1])
    assert dist.num_processes == 1
    tree = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": [np.int32(4)]}
    placed = distribute.place(tree, dist)
    assert isinstance(placed["a"], jax.Array) and placed["a"].sharding.is_fully_replicated
    back = distribute.to_host(placed)
    np.testing.assert_array_equal(back["a"], tree["a"])
    assert isinstance(back["b"][0], np.ndarray) and back["b"][0] == 4
    assert distribute.to_host([None, np.float32(2.5)])[1] == np.float32(2.5)
