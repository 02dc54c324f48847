"""Device check (not collected by pytest): image layers give the same outputs on the GPU
as on the CPU for the same seeds, and an augmented CNN fits on the GPU."""
import os
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "jax")
import jax  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.getcwd())
import gazelle as keras  # noqa: E402

L = keras.layers
print("devices", jax.devices(), "jax", jax.__version__, flush=True)
cpu, dev = jax.devices("cpu")[0], jax.devices()[0]
x = np.random.default_rng(0).uniform(0, 255, (4, 16, 20, 3)).astype("float32")
makers = {
    "Resizing-bicubic": lambda: L.Resizing(9, 13, interpolation="bicubic"),
    "Resizing-pad": lambda: L.Resizing(9, 9, pad_to_aspect_ratio=True),
    "CenterCrop": lambda: L.CenterCrop(10, 12), "RandomCrop": lambda: L.RandomCrop(10, 12, seed=1),
    "RandomFlip": lambda: L.RandomFlip(seed=1),
    "RandomRotation-const": lambda: L.RandomRotation(0.2, fill_mode="constant", seed=1),
    "RandomRotation-nearest-wrap": lambda: L.RandomRotation(0.2, fill_mode="wrap",
                                                            interpolation="nearest", seed=1),
    "RandomZoom": lambda: L.RandomZoom(0.3, seed=1),
    "RandomTranslation": lambda: L.RandomTranslation(0.2, 0.2, seed=1),
    "RandomShear": lambda: L.RandomShear(0.3, 0.3, seed=1),
    "RandomContrast": lambda: L.RandomContrast(0.4, seed=1),
    "RandomBrightness": lambda: L.RandomBrightness(0.4, seed=1),
    "RandomGrayscale": lambda: L.RandomGrayscale(seed=1),
    "RandomInvert": lambda: L.RandomInvert(seed=1),
    "Solarization": lambda: L.Solarization(0.2, 0.5, seed=1),
    "RandomPosterization": lambda: L.RandomPosterization((2, 6), seed=1),
    "AutoContrast": lambda: L.AutoContrast(), "Equalization": lambda: L.Equalization(),
    "RandomSaturation": lambda: L.RandomSaturation(0.8, seed=1),
    "RandomHue": lambda: L.RandomHue(0.8, seed=1),
    "RandomSharpness": lambda: L.RandomSharpness(0.9, seed=1),
    "RandomColorDegeneration": lambda: L.RandomColorDegeneration(0.9, seed=1),
    "RandomColorJitter": lambda: L.RandomColorJitter(brightness_factor=0.2, contrast_factor=0.2,
                                                     saturation_factor=0.5, hue_factor=0.3, seed=1),
    "RandomErasing": lambda: L.RandomErasing(seed=1),
    "RandomGaussianBlur": lambda: L.RandomGaussianBlur(seed=1),
    "MixUp": lambda: L.MixUp(seed=1), "CutMix": lambda: L.CutMix(seed=1),
    "RandomPerspective": lambda: L.RandomPerspective(scale=0.5, seed=1),
    "RandAugment": lambda: L.RandAugment(num_ops=3, seed=1),
    "AugMix": lambda: L.AugMix(seed=1),
    "AdaptiveAveragePooling2D": lambda: L.AdaptiveAveragePooling2D((5, 7)),
    "AdaptiveMaxPooling2D": lambda: L.AdaptiveMaxPooling2D((5, 7)),
}
bad = []
for name, make in makers.items():
    outs = []
    for device in (cpu, dev):
        with jax.default_device(device):
            outs.append(np.asarray(make()(x, training=True)))
    diff = float(np.abs(outs[0] - outs[1]).max())
    print(f"{name:28s} max|cpu-gpu| {diff:.3g}", flush=True)
    if not diff <= 1e-2:
        bad.append(name)
rng = np.random.default_rng(0)
y = rng.integers(0, 2, 512)
xs = (rng.uniform(0, 100, (512, 32, 32, 3)) + 120 * y[:, None, None, None]).astype("uint8")
keras.utils.set_random_seed(0)
model = keras.Sequential([keras.Input((32, 32, 3)), L.Rescaling(1 / 255),
                          L.RandomFlip("horizontal"), L.RandomRotation(0.1), L.RandomZoom(0.1),
                          L.RandomContrast(0.2), L.Conv2D(16, 3, activation="relu"),
                          L.MaxPooling2D(), L.Flatten(), L.Dense(2, activation="softmax")])
model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
start = time.time()
hist = model.fit(xs, y, batch_size=64, epochs=3, verbose=0)
print("fit losses", [round(v, 4) for v in hist.history["loss"]],
      "acc", [round(v, 3) for v in hist.history["accuracy"]], f"{time.time() - start:.1f} s")
print("BAD", bad if bad else "none")
