"""Child process of test_data_parallel.py: trains one small model under DataParallel over
N forced host devices (N=1: no distribution) and prints what the parent compares as JSON."""
import json
import os
import sys

N = int(sys.argv[1])
os.environ["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={N}"
os.environ["JAX_PLATFORMS"] = "cpu"

import jax  # noqa: E402
import numpy as np  # noqa: E402

import gazelle as keras  # noqa: E402

rng = np.random.default_rng(0)
x = rng.standard_normal((1000, 20)).astype("float32")
y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype("int32")
if N > 1:
    keras.distribution.set_distribution(
        keras.distribution.DataParallel(devices=keras.distribution.list_devices()))
keras.utils.set_random_seed(1)
model = keras.Sequential([
    keras.Input((20,)), keras.layers.Dense(64, activation="relu"),
    keras.layers.BatchNormalization(), keras.layers.Dropout(0.2),
    keras.layers.Dense(2, activation="softmax")])
model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
# 800 training samples at batch 64: 12 full batches and a short one of 32 (split too).
history = model.fit(x, y, batch_size=64, epochs=3, verbose=0, validation_split=0.2)
steps = model._trainer.steps
state = steps.layout.lift()
data = jax.device_put((x[:64], [y[:64]], None), state.trainable[0].sharding)
hlo = steps.chunk("train", 1, 64, False).lower(
    state, data, jax.device_put(np.arange(64, dtype=np.int32)), 0, 1).compile().as_text()
print(json.dumps({
    "devices": len(jax.devices()),
    "loss": history.history["loss"], "val_loss": history.history["val_loss"],
    "accuracy": history.history["accuracy"],
    "weights": [w.tolist() for w in model.get_weights()],
    "predict": model.predict(x[:50], verbose=0).tolist(),
    "evaluate": model.evaluate(x[800:], y[800:], verbose=0),
    "weight_sharding": str(model.trainable_variables[0].value.sharding),
    "all_reduce": hlo.count("all-reduce"),
}))
