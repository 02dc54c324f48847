"""Worker of test_multiprocess_fit.py: gazelle's own fit/evaluate/predict in one process of
a multi-process job (or alone, as the reference), results written as JSON.

    python fit_child.py --process-id I --num-processes P --port N --local-devices D --out F

With P > 1 every process calls gazelle.distribution.initialize("127.0.0.1:N", P, I), sets
DataParallel over keras.distribution.list_devices() (the devices of all processes), builds
the same seeded model and passes the SAME full arrays to fit/evaluate/predict. With P = 1
and D = 1 there is no distribution at all: one device, the same global batches.
Last, process 1 passes one different value to fit, which must refuse it on every process.
"""
import argparse
import json
import os
import sys
import time

INIT_TIMEOUT_S = 30

# 198 training rows at batch 32: 6 full batches and a short one of 6 rows (split over 2
# devices, replicated over 4), then 66 validation rows (2 batches and 2 rows); evaluate
# runs over those, predict over 70 rows (2 batches and 6 rows). Few distinct shapes: each
# is one more XLA compile, and compiles are most of the run time.
ROWS, TRAIN, FEATURES, CLASSES = 264, 198, 8, 3
BATCH, EPOCHS = 32, 2


def problem():
    import numpy as np
    rng = np.random.default_rng(7)
    x = rng.standard_normal((ROWS, FEATURES)).astype("float32")
    y = (np.digitize(x[:, 0] + 0.5 * x[:, 1] - 0.3 * x[:, 2], [-0.5, 0.5])).astype("int32")
    return x, y


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--process-id", type=int, default=0)
    ap.add_argument("--num-processes", type=int, default=1)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--local-devices", type=int, default=1)
    ap.add_argument("--out", required=True)
    ap.add_argument("--dump-after", type=float, default=0)
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    if args.dump_after:
        # A stuck job prints every thread's stack and exits instead of hanging.
        import faulthandler
        faulthandler.dump_traceback_later(args.dump_after, exit=True)
    os.environ["JAX_PLATFORMS"] = "cpu"
    os.environ["XLA_FLAGS"] = \
        f"--xla_force_host_platform_device_count={args.local_devices}"
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))))
    import jax
    import numpy as np

    import gazelle as keras

    if args.num_processes > 1:
        # A bounded wait for the peer: a lost process never hangs the test.
        keras.distribution.initialize(f"127.0.0.1:{args.port}", args.num_processes,
                                      args.process_id, initialization_timeout=INIT_TIMEOUT_S)
        assert jax.process_count() == args.num_processes
        # One tiny cross-process collective; the marker file tells the test that the job
        # formed and gloo works, so a later failure is gazelle's, not the machine's.
        from jax.experimental import multihost_utils
        multihost_utils.sync_global_devices("fit_child joined")
        open(args.out + ".joined", "w").close()
    devices = keras.distribution.list_devices()
    if len(devices) > 1:
        keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))

    x, y = problem()
    result = {"process_index": jax.process_index(), "process_count": jax.process_count(),
              "devices": devices, "local_device_count": jax.local_device_count()}
    keras.utils.set_random_seed(1)
    model = keras.Sequential([
        keras.Input((FEATURES,)), keras.layers.Dense(16, activation="relu"),
        keras.layers.BatchNormalization(), keras.layers.Dropout(0.2),
        keras.layers.Dense(CLASSES, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam",
                  metrics=["accuracy"])
    result["initial_weights"] = [w.tolist() for w in model.get_weights()]

    times = result["times"] = {"start": time.perf_counter() - t0}
    history = model.fit(x, y, batch_size=BATCH, epochs=EPOCHS, verbose=0, shuffle=True,
                        validation_split=0.25, doctor=False)
    times["fit"] = time.perf_counter() - t0
    result["history"] = history.history
    var = model.trainable_variables[0].value
    result["weight_fully_replicated"] = bool(var.sharding.is_fully_replicated)
    result["weight_spans_processes"] = not var.is_fully_addressable
    result["weights"] = [w.tolist() for w in model.get_weights()]
    result["evaluate"] = model.evaluate(x[TRAIN:], y[TRAIN:], batch_size=BATCH, verbose=0,
                                        return_dict=True)
    times["evaluate"] = time.perf_counter() - t0
    try:
        result["predict"] = model.predict(x[:70], batch_size=BATCH, verbose=0).tolist()
    except RuntimeError as e:             # the test reports it; the job goes on
        result["predict_error"] = f"{type(e).__name__}: {e}"[:500]
    times["predict"] = time.perf_counter() - t0
    # A second fit continues from the state the first one left on the mesh.
    again = model.fit(x[:TRAIN], y[:TRAIN], batch_size=BATCH, epochs=1, verbose=0,
                      shuffle=False, doctor=False)
    result["history_again"] = again.history
    result["weights_again"] = [w.tolist() for w in model.get_weights()]
    times["fit_again"] = time.perf_counter() - t0

    if args.num_processes > 1:
        # One value differs on process 1: every process must refuse the data, not train on
        # two different "replicated" datasets.
        bad = x.copy()
        if jax.process_index() == 1:
            bad[5, 3] += 1.0
        try:
            model.fit(bad[:TRAIN], y[:TRAIN], batch_size=BATCH, epochs=1, verbose=0, doctor=False)
            result["mismatch_error"] = None
        except ValueError as e:
            result["mismatch_error"] = str(e)

    result["seconds"] = time.perf_counter() - t0
    if args.num_processes > 1:
        jax.distributed.shutdown()
    with open(args.out, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main(sys.argv[1:])
