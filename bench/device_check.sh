#!/usr/bin/env bash
# GPU check, run through the device tool (wheels for the keras oracle carried in .whl/):
# the test suite's engine/model/layer tests on the GPU, the tutorial, and epoch timings.
set -u
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1 KERAS_BACKEND=jax JAX_PLATFORMS=cuda
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
nvidia-smi -L
python3 -c "import jax, optax, keras; print('jax', jax.__version__, 'keras', keras.__version__, jax.devices())"
timeout 300 python3 -m pytest -q -rf -p no:cacheprovider tests/training tests/models \
  tests/callbacks/test_callbacks_in_fit.py tests/layers/test_core.py tests/layers/test_normalization.py \
  tests/layers/test_convolutional.py tests/saving/test_keras_file.py 2>&1 | tee "$OUT/pytest.log" | tail -40
timeout 200 python3 - <<'PY' 2>&1 | tee "$OUT/timing.log"
import time, numpy as np, gazelle as keras
(x, y), (xt, yt) = keras.datasets.fashion_mnist.load_data()
x = ((x - 72.94) / 90.02).astype("float32"); xt = ((xt - 72.94) / 90.02).astype("float32")
def run(name, model, xs, xts, epochs, bs):
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam" if "cnn" in name else "sgd",
                  metrics=["accuracy"])
    times = []
    for e in range(epochs):
        t = time.perf_counter(); model.fit(xs[5000:], y[5000:], epochs=1, batch_size=bs, verbose=0)
        times.append(time.perf_counter() - t)
    acc = model.evaluate(xts, yt, verbose=0)[1]
    print(f"{name}: first epoch {times[0]:.2f}s, then {[round(t, 3) for t in times[1:]]} s/epoch, test acc {acc:.4f}")
L = keras.layers
run("mlp b32", keras.models.Sequential([L.Flatten(input_shape=[28, 28]), L.Dense(300, activation="relu"),
    L.Dense(100, activation="relu"), L.Dense(10, activation="softmax")]), x, xt, 4, 32)
run("cnn b64", keras.models.Sequential([L.Conv2D(32, 3, activation="relu", padding="same", input_shape=[28, 28, 1]),
    L.MaxPooling2D(2), L.Conv2D(64, 3, activation="relu", padding="same"), L.MaxPooling2D(2), L.Flatten(),
    L.Dense(128, activation="relu"), L.Dense(10, activation="softmax")]), x[..., None], xt[..., None], 5, 64)
PY
