"""Child process for the SIGKILL test of BackupAndRestore (run by test_backup_and_restore.py).

Usage: python _resume_script.py BACKUP_DIR OUT_NPZ CACHE_DIR

A seeded script as a user would write it: small MLP with Dropout, Adam, synthetic data,
BackupAndRestore. It prints `BEGIN <epoch>` when training starts (the epoch it resumes
at) and `END <epoch>` after each epoch's backup, sleeping a little per epoch so a parent
has time to kill it mid-training. At the end it saves every model and optimizer value.
"""
import os
import sys
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402

EPOCHS = 12
EPOCH_SLEEP = 0.08


def main(backup_dir, out_path, cache_dir):
    jax.config.update("jax_compilation_cache_dir", cache_dir)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    import numpy as np

    import gazelle as keras
    from gazelle.callbacks.backup_and_restore import BackupAndRestore

    keras.utils.set_random_seed(7)
    rng = np.random.RandomState(0)
    x = rng.rand(320, 8).astype("float32")
    y = (x[:, 0] + x[:, 1] > 1.0).astype("int32") + (x[:, 2] > 0.5).astype("int32")
    model = keras.Sequential([
        keras.Input((8,)),
        keras.layers.Dense(32, activation="relu"),
        keras.layers.Dropout(0.3),
        keras.layers.Dense(3, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])

    class Marker(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            print("BEGIN", self.model._initial_epoch or 0, flush=True)

        def on_epoch_end(self, epoch, logs=None):
            print("END", epoch, flush=True)
            time.sleep(EPOCH_SLEEP)

    model.fit(x, y, batch_size=16, epochs=EPOCHS, verbose=0,
              callbacks=[BackupAndRestore(backup_dir), Marker()])
    values = [np.asarray(v.value) for v in model.variables + model.optimizer.variables]
    np.savez(out_path, *values)
    print("DONE", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:4])
