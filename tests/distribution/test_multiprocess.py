"""Multi-host data parallelism on loopback: two Python processes, one SPMD program.

Each test starts two worker processes (this very file, run as a script) that join one JAX
job with ``jax.distributed.initialize(coordinator_address="127.0.0.1:PORT", ...)``. JAX's
CPU client then talks to the other process through its gloo TCP collectives
(``jax_cpu_collectives_implementation="gloo"``, the default in jax 0.10). The workers
build a global mesh over ``jax.devices()`` (the devices of both processes), feed each
process's share of every global batch with ``jax.make_array_from_process_local_data``,
and run a jitted SGD step of a linear regression whose parameters are replicated: the
SPMD partitioner inserts the cross-process all-reduce of the gradients.

Checks: both processes end with the same parameters and loss curve, equal (float
tolerance) to a single-process, single-device run over the same global batches, and to a
float64 NumPy oracle computed here.

If the machine cannot run multi-process CPU collectives at all (a minimal two-process
probe fails), the tests skip and say why; once the probe passes, any failure is a failure.

Run:  python -m pytest -q tests/distribution/test_multiprocess.py
"""
import json
import os
import sys
import time

import numpy as np
import pytest

import _workers

HERE = os.path.abspath(__file__)

# One problem for every run: global batches of GLOBAL_BATCH rows, STEPS SGD steps.
FEATURES = 5
OUTPUTS = 2
GLOBAL_BATCH = 32          # divisible by 2 processes x 4 devices
STEPS = 6
LEARNING_RATE = 0.05
SEED = 1234

RUN_TIMEOUT_S = 60         # hard ceiling for one multi-process run; never hangs longer
INIT_TIMEOUT_S = 30        # jax.distributed.initialize waits at most this for the peer


# --------------------------------------------------------------------------------------
# The problem, shared by workers and the NumPy oracle (NumPy only: no JAX import here).
# --------------------------------------------------------------------------------------
def make_problem():
    """Global batches (STEPS, GLOBAL_BATCH, ...) and initial parameters, from SEED."""
    rng = np.random.default_rng(SEED)
    x = rng.normal(size=(STEPS, GLOBAL_BATCH, FEATURES)).astype(np.float32)
    true_w = rng.normal(size=(FEATURES, OUTPUTS)).astype(np.float32)
    y = (x @ true_w + 0.3 + 0.1 * rng.normal(size=(STEPS, GLOBAL_BATCH, OUTPUTS))
         ).astype(np.float32)
    w0 = (0.1 * rng.normal(size=(FEATURES, OUTPUTS))).astype(np.float32)
    b0 = np.zeros((OUTPUTS,), np.float32)
    return x, y, w0, b0


def numpy_oracle():
    """float64 SGD on mean squared error, written out by hand."""
    x, y, w, b = make_problem()
    w, b = w.astype(np.float64), b.astype(np.float64)
    losses = []
    for s in range(STEPS):
        xs, ys = x[s].astype(np.float64), y[s].astype(np.float64)
        err = xs @ w + b - ys
        losses.append(float(np.mean(err ** 2)))
        scale = 2.0 / err.size
        gw, gb = scale * xs.T @ err, scale * err.sum(axis=0)
        w, b = w - LEARNING_RATE * gw, b - LEARNING_RATE * gb
    return {"w": w, "b": b, "losses": np.array(losses)}


# --------------------------------------------------------------------------------------
# Worker side (runs in the child processes).
# --------------------------------------------------------------------------------------
def _worker_env_setup(local_devices):
    os.environ["JAX_PLATFORMS"] = "cpu"
    flags = [f for f in os.environ.get("XLA_FLAGS", "").split()
             if not f.startswith("--xla_force_host_platform_device_count")]
    flags.append(f"--xla_force_host_platform_device_count={local_devices}")
    os.environ["XLA_FLAGS"] = " ".join(flags)


def _local_rows(sharding, global_shape):
    """Global row indices whose shards live on this process, in global order."""
    rows = set()
    for index in sharding.addressable_devices_indices_map(global_shape).values():
        rows.update(range(*index[0].indices(global_shape[0])))
    return np.array(sorted(rows))


def _train_data_parallel(jax, mesh, x_local_fn, y_local_fn, w0, b0):
    """The swappable core: data-parallel SGD over ``mesh``'s 'batch' axis.

    Later this becomes gazelle's ``model.fit`` under a DataParallel distribution; it
    must return the final parameters (as host arrays) and the per-step losses.
    """
    import jax.numpy as jnp
    from jax.sharding import NamedSharding, PartitionSpec as P

    batch_sharding = NamedSharding(mesh, P("batch"))
    replicated = NamedSharding(mesh, P())

    def loss_fn(params, xb, yb):
        w, b = params
        return jnp.mean((xb @ w + b - yb) ** 2)

    @jax.jit
    def step(params, xb, yb):
        loss, grads = jax.value_and_grad(loss_fn)(params, xb, yb)
        new = jax.tree_util.tree_map(lambda p, g: p - LEARNING_RATE * g, params, grads)
        # Parameters stay replicated: the partitioner all-reduces the gradients.
        new = jax.lax.with_sharding_constraint(new, replicated)
        return new, loss

    params = (jax.device_put(w0, replicated), jax.device_put(b0, replicated))
    losses = []
    for s in range(STEPS):
        rows = _local_rows(batch_sharding, (GLOBAL_BATCH, FEATURES))
        xb = jax.make_array_from_process_local_data(
            batch_sharding, x_local_fn(s, rows), (GLOBAL_BATCH, FEATURES))
        yb = jax.make_array_from_process_local_data(
            batch_sharding, y_local_fn(s, rows), (GLOBAL_BATCH, OUTPUTS))
        params, loss = step(params, xb, yb)
        losses.append(loss)
    # Replicated arrays span processes, so read this process's own copy.
    host = lambda a: np.asarray(a.addressable_data(0), dtype=np.float64)  # noqa: E731
    return {
        "w": host(params[0]), "b": host(params[1]),
        "losses": np.array([float(host(l)) for l in losses]),
        "param_sharding_replicated": bool(params[0].sharding.is_fully_replicated),
    }


def worker_main(argv):
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["probe", "train"])
    ap.add_argument("--process-id", type=int, default=0)
    ap.add_argument("--num-processes", type=int, default=1)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--local-devices", type=int, default=1)
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    _worker_env_setup(args.local_devices)
    import jax
    from jax.sharding import Mesh

    # Must come before anything that touches a JAX backend (jax.devices(), arrays...).
    # gloo is jax 0.10's default; without CPU collectives (None) the first cross-process
    # computation fails with "Multiprocess computations aren't implemented on the CPU
    # backend", and "mpi" needs MPITRAMPOLINE_LIB pointing at an MPI library.
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(
        coordinator_address=f"127.0.0.1:{args.port}",
        num_processes=args.num_processes,
        process_id=args.process_id,
        initialization_timeout=INIT_TIMEOUT_S,
    )
    t_init = time.perf_counter()
    result = {
        "process_index": jax.process_index(),
        "process_count": jax.process_count(),
        "device_count": jax.device_count(),
        "local_device_count": jax.local_device_count(),
    }

    mesh = Mesh(np.array(jax.devices()), ("batch",))
    if args.mode == "probe":
        # Smallest possible cross-process collective: sum of a batch-sharded vector whose
        # entries are (process index + 1) on each device.
        from jax.sharding import NamedSharding, PartitionSpec as P
        sharding = NamedSharding(mesh, P("batch"))
        local = np.full((jax.local_device_count(),), jax.process_index() + 1, np.float32)
        total = jax.jit(lambda v: v.sum())(jax.make_array_from_process_local_data(
            sharding, local, (jax.device_count(),)))
        result["probe_sum"] = float(np.asarray(total.addressable_data(0)))
    else:
        x, y, w0, b0 = make_problem()
        out = _train_data_parallel(
            jax, mesh, lambda s, rows: x[s][rows], lambda s, rows: y[s][rows], w0, b0)
        result.update({k: (v.tolist() if isinstance(v, np.ndarray) else v)
                       for k, v in out.items()})
    result["seconds_init"] = t_init - t0
    result["seconds_total"] = time.perf_counter() - t0
    jax.distributed.shutdown()
    with open(args.out, "w") as f:
        json.dump(result, f)


# --------------------------------------------------------------------------------------
# Parent side (pytest).
# --------------------------------------------------------------------------------------
def _launch(mode, tmp_path, num_processes, local_devices, port):
    """Start the workers; return [(Popen, out_path, log_path)]."""
    env = dict(os.environ)
    env.pop("JAX_ENABLE_X64", None)
    procs = []
    for pid in range(num_processes):
        out = tmp_path / f"{mode}_{pid}.json"
        cmd = [sys.executable, HERE, mode, "--process-id", str(pid),
               "--num-processes", str(num_processes), "--local-devices", str(local_devices),
               "--port", str(port), "--out", str(out)]
        procs.append(_workers.start(cmd, env, out, tmp_path / f"{mode}_{pid}.log"))
    return procs


def _run(mode, tmp_path, num_processes, local_devices):
    """Run one multi-process job; retries once on a port race. Returns (ok, msg, results)."""
    for attempt in range(2):
        procs = _launch(mode, tmp_path, num_processes, local_devices, _workers.free_port())
        msg = _workers.wait_all(procs, time.monotonic() + RUN_TIMEOUT_S)
        logs = _workers.logs(procs)
        if not msg:
            return True, "", [json.loads(out.read_text()) for _, out, _ in procs]
        if "address already in use" not in logs.lower() or attempt:
            return False, f"{msg}\n{logs}", None
    raise AssertionError("unreachable")


@pytest.fixture(scope="module")
def multiprocess_capability(tmp_path_factory):
    """Two processes, one device each, one cross-process sum. Skip everything if it fails."""
    tmp = tmp_path_factory.mktemp("probe")
    t0 = time.perf_counter()
    ok, msg, results = _run("probe", tmp, num_processes=2, local_devices=1)
    if not ok:
        pytest.skip("2-process JAX run on loopback with gloo CPU collectives is not "
                    "possible here: " + msg.strip()[-1500:])
    sums = [r["probe_sum"] for r in results]
    if sums != [3.0, 3.0]:
        pytest.skip(f"2-process probe ran but its cross-process sum is wrong: {sums}")
    return {"seconds": time.perf_counter() - t0}


def _assert_close(a, b, what, rtol=1e-5, atol=1e-6):
    np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64),
                               rtol=rtol, atol=atol, err_msg=what)


@pytest.fixture(scope="module")
def single_process_reference():
    """The same training code in this (single) process, on one device, whole batches."""
    import jax
    from jax.sharding import Mesh
    x, y, w0, b0 = make_problem()
    mesh = Mesh(np.array(jax.devices()[:1]), ("batch",))
    return _train_data_parallel(
        jax, mesh, lambda s, rows: x[s][rows], lambda s, rows: y[s][rows], w0, b0)


@pytest.mark.parametrize("local_devices", [1, 4], ids=["2x1", "2x4"])
def test_two_process_data_parallel_matches_single_process(
        multiprocess_capability, single_process_reference, tmp_path, local_devices):
    ok, msg, workers = _run("train", tmp_path, num_processes=2, local_devices=local_devices)
    assert ok, "2-process training failed after the capability probe passed:\n" + msg
    ref = single_process_reference

    # The job really spans two processes and all their devices.
    assert sorted(r["process_index"] for r in workers) == [0, 1]
    for r in workers:
        assert r["process_count"] == 2
        assert r["local_device_count"] == local_devices
        assert r["device_count"] == 2 * local_devices
        assert r["param_sharding_replicated"]

    w0, w1 = workers
    # Both processes hold the same parameters (same compiled program, all-reduced grads).
    _assert_close(w0["w"], w1["w"], "weights differ between processes", rtol=0, atol=0)
    _assert_close(w0["b"], w1["b"], "biases differ between processes", rtol=0, atol=0)
    _assert_close(w0["losses"], w1["losses"], "losses differ between processes",
                  rtol=0, atol=0)

    # ... equal to one process with the same global batches ...
    _assert_close(w0["w"], ref["w"], "weights: 2 processes vs 1 process")
    _assert_close(w0["b"], ref["b"], "biases: 2 processes vs 1 process")
    _assert_close(w0["losses"], ref["losses"], "losses: 2 processes vs 1 process")

    # ... and to float64 NumPy, so a run that silently used only local data (each
    # process training on half the batch) could not pass.
    oracle = numpy_oracle()
    _assert_close(w0["w"], oracle["w"], "weights vs NumPy", rtol=1e-4, atol=1e-5)
    _assert_close(w0["b"], oracle["b"], "biases vs NumPy", rtol=1e-4, atol=1e-5)
    _assert_close(w0["losses"], oracle["losses"], "losses vs NumPy", rtol=1e-4, atol=1e-5)
    # Training did something (guards against a no-op step matching a no-op reference).
    assert oracle["losses"][-1] < 0.8 * oracle["losses"][0]


def test_local_only_training_would_be_detected():
    """The oracle separates global-batch SGD from per-process (half-batch) SGD."""
    x, y, w, b = make_problem()
    half = GLOBAL_BATCH // 2
    w, b = w.astype(np.float64), b.astype(np.float64)
    for s in range(STEPS):
        xs, ys = x[s][:half].astype(np.float64), y[s][:half].astype(np.float64)
        err = xs @ w + b - ys
        scale = 2.0 / err.size
        w, b = w - LEARNING_RATE * scale * xs.T @ err, b - LEARNING_RATE * scale * err.sum(0)
    assert not np.allclose(w, numpy_oracle()["w"], rtol=1e-4, atol=1e-5)


if __name__ == "__main__":
    worker_main(sys.argv[1:])
