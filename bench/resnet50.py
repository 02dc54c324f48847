"""Issue 14: ResNet50 inference, batch 32 at 224x224, gazelle vs Keras 3 vs PyTorch, on CPU.

Systems, interleaved round by round in one process; all but the last share the weights:

1. `gazelle`: `keras.applications.ResNet50(weights=None)`, then `model.predict(x,
   batch_size=32)` over `--batches` batches and `model.predict_on_batch(x[:32])`.
2. `keras`: Keras 3 on its JAX backend, the same model and calls.
3. Hand-written `jax.jit` forward passes of the same network (NHWC/HWIO, conv + bias,
   BatchNormalization from its moving statistics, ReLU, the same padding and pooling), which
   tell gazelle's own overhead from XLA's: `jax` with `lax.conv_general_dilated` for every
   convolution (what Keras 3 runs), `jax-im2col` with every convolution as an im2col matrix
   product (what gazelle's Conv2D runs on CPUs), `jax-mixed` with the 1x1 convolutions as
   matrix products and the 3x3/7x7 ones through XLA.
4. `torch`: the same network in plain torch.nn (Keras's ResNet50 is the original V1 layout:
   the stride on a block's first 1x1 convolution, convolutions with biases, BatchNorm epsilon
   1.001e-5), NCHW, eval mode under `torch.inference_mode()`, the weights copied exactly
   (HWIO -> OIHW kernels, the Dense kernel transposed, BatchNorm gamma, beta and running
   statistics); `torch-cl` the same in torch's channels_last memory format.
5. `torch-tv`: torchvision's `resnet50` (V1.5: the stride on the 3x3 convolution, no
   convolution biases, epsilon 1e-5; 4.09 against 3.86 GMACs per image), random weights,
   timed only. From torchvision when it imports; else that layout written in torch.nn here
   (torchvision's CPU wheel could not be installed where this was written: only a CUDA
   build matching this torch was reachable, and it does not load on torch+cpu).

The shared weights: gazelle's seeded initialization (Keras's initializers), BatchNorm
gamma/beta drawn around 1/0, and moving mean/variance calibrated on a batch of random images
(each BatchNormalization gets the batch statistics of its input), so that activations stay
well scaled through the 16 blocks. After the first round, before the measured ones, every
system's outputs (the predict pass and the predict_on_batch batch) are compared with Keras
3's: the top-1 class must be equal for every image and the probabilities close (`--atol`),
or the script stops.

Round 0 (the first call of each, compile included) is reported on its own; min and median
cover the rounds after it, counting only the clean ones (other processes below 0.25 cores,
from /proc/stat). gazelle's persistent compilation cache is off (GAZELLE_COMPILATION_CACHE=0
unless set), so every first call compiles. XLA uses its own thread pool over the usable
cores; `--threads` pins PyTorch (`torch.set_num_threads`). `--profile` also times each
distinct convolution alone (XLA, im2col, PyTorch) and counts the instructions of gazelle's
compiled predict_on_batch against the hand-written passes.

    python bench/resnet50.py [--rounds 3] [--batches 4] [--batch 32] [--threads N]
                             [--systems gazelle,keras,jax,...] [--profile] [--json PATH]

A smoke run: `python bench/resnet50.py --quick` (1 round, 1 batch of 8, 64x64 images).
A benchmark script, not library code: imports gazelle, keras, jax, torch and numpy.
"""
import os

os.environ["KERAS_BACKEND"] = "jax"  # must happen before keras is imported
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("GAZELLE_COMPILATION_CACHE", "0")  # first calls compile, for everyone

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402

from harness import (CLEAN_BELOW, command_line, fmt, load_average, machine_facts,  # noqa: E402
                     print_facts, ratio, record, summarize, timed, write_json)

CLASSES = 1000
EPSILON = 1.001e-5          # Keras's ResNet BatchNormalization epsilon
STAGES = ((64, 3), (128, 4), (256, 6), (512, 3))   # (filters, blocks) of conv2..conv5
IMAGENET_BGR_MEAN = np.array([103.939, 116.779, 123.68], np.float32)

NAMES = {"gazelle": "gazelle", "keras": "Keras 3 (JAX backend)",
         "jax": "hand-written jax.jit, XLA convolutions",
         "jax-im2col": "hand-written jax.jit, im2col matrix products",
         "jax-mixed": "hand-written jax.jit, 1x1 as matrix products, 3x3/7x7 XLA",
         "torch": "PyTorch eager, same net and weights",
         "torch-cl": "PyTorch eager, same net and weights, channels_last",
         "torch-tv": "PyTorch eager, torchvision resnet50 (V1.5)"}
CHECKED = ("gazelle", "keras", "jax", "jax-im2col", "jax-mixed", "torch", "torch-cl")


# ---------------------------------------------------------------- the network, as data

def blocks():
    """(name, filters, stride, conv_shortcut) of the 16 bottleneck blocks, Keras's names."""
    out = []
    for stage, (filters, count) in enumerate(STAGES):
        for i in range(1, count + 1):
            stride = 2 if (i == 1 and stage > 0) else 1
            out.append((f"conv{stage + 2}_block{i}", filters, stride, i == 1))
    return out


def conv_layers(size, v15=False):
    """(name, input size, in channels, filters, kernel, stride, padding) of every
    convolution at size x size inputs; `v15` puts a block's stride on its 3x3 convolution
    (torchvision's layout) instead of its first 1x1."""
    out = [("conv1_conv", size, 3, 64, 7, 2, ((3, 3), (3, 3)))]
    n = (size - 1) // 2 + 1                # conv1's output
    n = (n - 1) // 2 + 1                   # pool1: 3x3 stride 2, padding 1
    channels = 64
    for name, filters, stride, shortcut in blocks():
        m = (n - 1) // stride + 1
        if shortcut:
            out.append((f"{name}_0_conv", n, channels, 4 * filters, 1, stride, "VALID"))
        s1, s2 = (1, stride) if v15 else (stride, 1)
        out.append((f"{name}_1_conv", n, channels, filters, 1, s1, "VALID"))
        out.append((f"{name}_2_conv", n if v15 else m, filters, filters, 3, s2, "SAME"))
        out.append((f"{name}_3_conv", m, filters, 4 * filters, 1, 1, "VALID"))
        n, channels = m, 4 * filters
    return out


def conv_output_size(n, kernel, stride, padding):
    if padding == "SAME":
        return (n - 1) // stride + 1
    pad = 0 if padding == "VALID" else sum(padding[0])
    return (n + pad - kernel) // stride + 1


def macs_per_image(size, v15=False):
    """Multiply-accumulates of one forward pass (convolutions and the classifier)."""
    total = 0
    for _, n, cin, cout, k, stride, padding in conv_layers(size, v15):
        m = conv_output_size(n, k, stride, padding)
        total += m * m * k * k * cin * cout
    return total + 4 * STAGES[-1][0] * CLASSES


# ---------------------------------------------------------------- the shared weights

def reference_weights(k, size, seed):
    """{layer name: [arrays]} in Keras's layout: `k`'s seeded initialization, random
    BatchNorm gamma/beta, and moving statistics calibrated on random images."""
    import jax
    import jax.numpy as jnp
    k.utils.set_random_seed(seed)
    model = k.applications.ResNet50(weights=None, input_shape=(size, size, 3))
    weights = {layer.name: [np.asarray(w) for w in layer.get_weights()]
               for layer in model.layers if layer.get_weights()}
    rng = np.random.default_rng(seed + 1)
    for name, ws in weights.items():
        if name.endswith("_bn"):
            ws[0] = rng.uniform(0.5, 1.5, ws[0].shape).astype(np.float32)     # gamma
            ws[1] = rng.normal(0.0, 0.1, ws[1].shape).astype(np.float32)      # beta
    params = {n: [jnp.asarray(w) for w in ws] for n, ws in weights.items()}
    calibration = make_images(8, size, seed + 2)
    with jax.default_matmul_precision("highest"):
        forward(params, jnp.asarray(calibration), calibrate=weights)   # fills moving stats
    return weights


def make_images(n, size, seed):
    """Random 'images' in [0, 255], preprocessed as Keras's caffe mode does (BGR, the
    ImageNet mean subtracted); channels last."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 255.0, (n, size, size, 3)).astype(np.float32)
    return x - IMAGENET_BGR_MEAN


# ---------------------------------------------------------------- hand-written JAX

def im2col_conv(h, kernel, stride, padding):
    """A convolution as one matrix product: the (padded) input sliced once per kernel
    offset, the slices concatenated along channels, times the kernel as a (kh*kw*in, out)
    matrix. NHWC/HWIO."""
    import jax.numpy as jnp
    from jax import lax
    kh, kw = kernel.shape[:2]
    if isinstance(padding, str):
        padding = lax.padtype_to_pads(h.shape[1:3], (kh, kw), (stride, stride), padding)
    h = jnp.pad(h, ((0, 0), tuple(padding[0]), tuple(padding[1]), (0, 0)))
    oh = (h.shape[1] - kh) // stride + 1
    ow = (h.shape[2] - kw) // stride + 1
    cols = [h[:, i:i + stride * (oh - 1) + 1:stride, j:j + stride * (ow - 1) + 1:stride]
            for i in range(kh) for j in range(kw)]
    cols = cols[0] if len(cols) == 1 else jnp.concatenate(cols, axis=-1)
    return jnp.dot(cols, kernel.reshape(-1, kernel.shape[-1]))


def forward(params, x, calibrate=None, convs="xla"):
    """The ResNet50 forward pass in plain JAX (NHWC/HWIO), from {name: [arrays]}. `convs`:
    "xla" (`lax.conv_general_dilated` for all), "im2col" (all as matrix products, as gazelle
    runs them on CPUs) or "mixed" (1x1 as matrix products, the 3x3 and 7x7 through XLA).

    With `calibrate` (a dict of numpy weight lists), each BatchNormalization first stores
    the mean and variance of its input batch as its moving statistics (in params and in
    `calibrate`), then normalizes with them: run eagerly, once."""
    import jax
    import jax.numpy as jnp
    from jax import lax

    def conv(h, name, stride=1, padding="VALID"):
        kernel, bias = params[name]
        if convs == "im2col" or (convs == "mixed" and kernel.shape[0] == 1):
            return im2col_conv(h, kernel, stride, padding) + bias
        h = lax.conv_general_dilated(h, kernel, (stride, stride), padding,
                                     dimension_numbers=("NHWC", "HWIO", "NHWC"))
        return h + bias

    def bn(h, name):
        gamma, beta, mean, var = params[name]
        if calibrate is not None:
            mean, var = jnp.mean(h, axis=(0, 1, 2)), jnp.var(h, axis=(0, 1, 2))
            params[name] = [gamma, beta, mean, var]
            calibrate[name][2], calibrate[name][3] = np.asarray(mean), np.asarray(var)
        scale = gamma * lax.rsqrt(var + EPSILON)
        return h * scale + (beta - mean * scale)

    relu = jax.nn.relu
    h = conv(x, "conv1_conv", 2, ((3, 3), (3, 3)))
    h = relu(bn(h, "conv1_bn"))
    h = lax.reduce_window(h, -jnp.inf, lax.max, (1, 3, 3, 1), (1, 2, 2, 1),
                          ((0, 0), (1, 1), (1, 1), (0, 0)))
    for name, _, stride, shortcut in blocks():
        short = bn(conv(h, f"{name}_0_conv", stride), f"{name}_0_bn") if shortcut else h
        y = relu(bn(conv(h, f"{name}_1_conv", stride), f"{name}_1_bn"))
        y = relu(bn(conv(y, f"{name}_2_conv", 1, "SAME"), f"{name}_2_bn"))
        y = bn(conv(y, f"{name}_3_conv"), f"{name}_3_bn")
        h = relu(short + y)
    h = jnp.mean(h, axis=(1, 2))
    kernel, bias = params["predictions"]
    return jax.nn.softmax(h @ kernel + bias, axis=-1)


def make_jax(weights, args, convs="xla"):
    import functools

    import jax
    import jax.numpy as jnp
    params = {n: [jnp.asarray(w) for w in ws] for n, ws in weights.items()}
    fn = jax.jit(functools.partial(forward, convs=convs))

    def on_batch(xb):
        return np.asarray(fn(params, xb))

    def predict(x):
        return np.concatenate([on_batch(x[s:s + args.batch])
                               for s in range(0, len(x), args.batch)])
    return predict, on_batch


def make_jax_im2col(weights, args):
    return make_jax(weights, args, convs="im2col")


def make_jax_mixed(weights, args):
    return make_jax(weights, args, convs="mixed")


# ---------------------------------------------------------------- Keras-API systems

def make_keras_api(k, weights, args):
    model = k.applications.ResNet50(weights=None, input_shape=(args.size, args.size, 3))
    for name, ws in weights.items():
        layer = model.get_layer(name)
        shapes = [tuple(w.shape) for w in layer.weights]
        if shapes != [w.shape for w in ws]:
            raise RuntimeError(f"{name}: weight shapes {shapes}, expected "
                               f"{[w.shape for w in ws]}")
        layer.set_weights(ws)

    def predict(x):
        return model.predict(x, batch_size=args.batch, verbose=0)

    def on_batch(xb):
        return np.asarray(model.predict_on_batch(xb))
    return predict, on_batch


def make_gazelle(weights, args):
    import gazelle
    return make_keras_api(gazelle, weights, args)


def make_keras(weights, args):
    k = import_keras()
    return make_keras_api(k, weights, args)


def import_keras():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import keras
    if keras.backend.backend() != "jax":
        raise RuntimeError(f"Keras runs on {keras.backend.backend()!r}, expected 'jax'.")
    return keras


# ---------------------------------------------------------------- PyTorch

def torch_resnet50(torch, v15):
    """ResNet-50 in plain torch.nn. `v15=False`: Keras's layout (stride on the block's first
    1x1 convolution, convolution biases, epsilon 1.001e-5, softmax output); `v15=True`:
    torchvision's (stride on the 3x3, no convolution biases, epsilon 1e-5, logits)."""
    nn = torch.nn
    eps, bias = (1e-5, False) if v15 else (EPSILON, True)

    class Bottleneck(nn.Module):
        def __init__(self, cin, filters, stride, shortcut):
            super().__init__()
            s1, s3 = (1, stride) if v15 else (stride, 1)
            self.conv1 = nn.Conv2d(cin, filters, 1, s1, bias=bias)
            self.bn1 = nn.BatchNorm2d(filters, eps=eps)
            self.conv2 = nn.Conv2d(filters, filters, 3, s3, padding=1, bias=bias)
            self.bn2 = nn.BatchNorm2d(filters, eps=eps)
            self.conv3 = nn.Conv2d(filters, 4 * filters, 1, bias=bias)
            self.bn3 = nn.BatchNorm2d(4 * filters, eps=eps)
            self.relu = nn.ReLU(inplace=True)
            self.downsample = nn.Sequential(
                nn.Conv2d(cin, 4 * filters, 1, stride, bias=bias),
                nn.BatchNorm2d(4 * filters, eps=eps)) if shortcut else None

        def forward(self, x):
            short = x if self.downsample is None else self.downsample(x)
            y = self.relu(self.bn1(self.conv1(x)))
            y = self.relu(self.bn2(self.conv2(y)))
            return self.relu(self.bn3(self.conv3(y)) + short)

    class ResNet50(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 64, 7, 2, padding=3, bias=bias)
            self.bn1 = nn.BatchNorm2d(64, eps=eps)
            self.relu = nn.ReLU(inplace=True)
            # Keras pads with zeros before its max pooling, torch with -inf: the same after
            # a ReLU.
            self.maxpool = nn.MaxPool2d(3, 2, padding=1)
            layers, cin = {}, 64
            for name, filters, stride, shortcut in blocks():
                layers[name] = Bottleneck(cin, filters, stride, shortcut)
                cin = 4 * filters
            self.blocks = nn.ModuleDict(layers)
            self.fc = nn.Linear(cin, CLASSES)

        def forward(self, x):
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            for block in self.blocks.values():
                x = block(x)
            logits = self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))
            return logits if v15 else torch.softmax(logits, dim=-1)

    return ResNet50()


def load_keras_weights(torch, model, weights):
    """Copies Keras-layout weights into torch_resnet50(v15=False), exactly."""
    def t(a):
        return torch.from_numpy(np.array(a, dtype=np.float32, order="C"))  # a writable copy

    def conv(module, name):
        kernel, b = weights[name]
        module.weight.copy_(t(kernel.transpose(3, 2, 0, 1)))   # HWIO -> OIHW
        module.bias.copy_(t(b))

    def bn(module, name):
        gamma, beta, mean, var = weights[name]
        for target, value in ((module.weight, gamma), (module.bias, beta),
                              (module.running_mean, mean), (module.running_var, var)):
            target.copy_(t(value))

    with torch.no_grad():
        conv(model.conv1, "conv1_conv")
        bn(model.bn1, "conv1_bn")
        for name, _, _, shortcut in blocks():
            block = model.blocks[name]
            if shortcut:
                conv(block.downsample[0], f"{name}_0_conv")
                bn(block.downsample[1], f"{name}_0_bn")
            for i in (1, 2, 3):
                conv(getattr(block, f"conv{i}"), f"{name}_{i}_conv")
                bn(getattr(block, f"bn{i}"), f"{name}_{i}_bn")
        kernel, b = weights["predictions"]
        model.fc.weight.copy_(t(kernel.T))
        model.fc.bias.copy_(t(b))


def torch_runner(torch, model, args, channels_last=False):
    """predict / on_batch for a torch model: NHWC numpy batches in, probabilities out. With
    `channels_last` the model and the inputs use torch's NHWC memory format (the logical
    shape stays NCHW; oneDNN then skips its layout conversions)."""
    model.eval()
    if channels_last:
        model = model.to(memory_format=torch.channels_last)

    def on_batch(xb):
        with torch.inference_mode():
            if channels_last:   # the NHWC buffer itself, seen as an NCHW tensor
                xt = torch.from_numpy(np.ascontiguousarray(xb)).permute(0, 3, 1, 2)
            else:
                xt = torch.from_numpy(np.ascontiguousarray(xb.transpose(0, 3, 1, 2)))
            return model(xt).numpy()

    def predict(x):
        return np.concatenate([on_batch(x[s:s + args.batch])
                               for s in range(0, len(x), args.batch)])
    return predict, on_batch


def make_torch(weights, args, channels_last=False):
    import torch
    torch.set_num_threads(args.threads)
    model = torch_resnet50(torch, v15=False)
    load_keras_weights(torch, model, weights)
    return torch_runner(torch, model, args, channels_last)


def make_torch_cl(weights, args):
    return make_torch(weights, args, channels_last=True)


def make_torch_tv(weights, args):
    import torch
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    try:
        import torchvision
        model = torchvision.models.resnet50(weights=None)
        args.torchvision = f"torchvision {torchvision.__version__}"
    except Exception as e:  # not installed, or a build that does not match this torch
        model = torch_resnet50(torch, v15=True)
        args.torchvision = (f"torchvision unavailable ({type(e).__name__}: {e}); its "
                            "layout written in torch.nn here")
    return torch_runner(torch, model, args)


FACTORIES = {"gazelle": make_gazelle, "keras": make_keras, "jax": make_jax,
             "jax-im2col": make_jax_im2col, "jax-mixed": make_jax_mixed,
             "torch-cl": make_torch_cl, "torch": make_torch, "torch-tv": make_torch_tv}


# ---------------------------------------------------------------- measuring

def check_outputs(outputs, reference_key, atol, log=print):
    """Every checked system against the reference: the same top-1 class for every image,
    probabilities within atol. Returns {system: max abs difference}."""
    ref = outputs[reference_key]
    diffs = {}
    for key, out in outputs.items():
        if out.shape != ref.shape:
            raise RuntimeError(f"{key}: outputs of shape {out.shape}, {reference_key}: "
                               f"{ref.shape}")
        diff = float(np.max(np.abs(out - ref)))
        top1 = np.argmax(out, -1)
        same = top1 == np.argmax(ref, -1)
        diffs[key] = diff
        top2 = np.sort(ref, -1)[:, -2:]
        log(f"  check {key:9s} vs {reference_key}: top-1 equal {same.sum()}/{len(same)}, "
            f"max |p - p_ref| {diff:.2e} (smallest top-1 - top-2 gap of {reference_key}: "
            f"{np.min(top2[:, 1] - top2[:, 0]):.1e})", flush=True)
        if not same.all() or diff > atol:
            raise RuntimeError(
                f"{key} disagrees with {reference_key}: top-1 equal for {same.sum()} of "
                f"{len(same)} images, max probability difference {diff:.3g} (atol {atol}); "
                "the weights were not copied exactly or the layers differ.")
    return diffs


def measure(systems, weights, x, args, log=print):
    """Round 0 is the first call (compile included); after it the outputs are checked;
    then each round runs, per system, one predict pass and one predict_on_batch call."""
    runners, pred_res, batch_res, skipped = {}, {}, {}, {}
    for key in systems:
        try:
            runners[key] = FACTORIES[key](weights, args)
        except ImportError as e:
            skipped[key] = f"not installed ({e})"
    xb = x[:args.batch]
    checks = None
    for r in range(args.rounds + 1):
        pred_out, batch_out = {}, {}
        for key, (predict, on_batch) in runners.items():
            seconds, probs, others = timed(lambda: predict(x))
            pred_out[key] = probs
            record(pred_res, key, NAMES[key] + " predict", r, args.rounds, seconds,
                   float(np.mean(np.max(probs, -1))), others, log)
            seconds, probs, others = timed(lambda: on_batch(xb))
            batch_out[key] = probs
            record(batch_res, key, NAMES[key] + " predict_on_batch", r, args.rounds, seconds,
                   float(np.mean(np.max(probs, -1))), others, log)
        if r == 0:
            checked = [k for k in CHECKED if k in runners]
            if len(checked) > 1:
                reference = "keras" if "keras" in checked else checked[0]
                checks = {
                    "predict": check_outputs({k: pred_out[k] for k in checked}, reference,
                                             args.atol, log),
                    "predict_on_batch": check_outputs({k: batch_out[k] for k in checked},
                                                      reference, args.atol, log),
                    "reference": reference}
            for key, out in pred_out.items():
                if out.shape != (len(x), CLASSES):
                    raise RuntimeError(f"{key}: predict returned {out.shape}")
    return pred_res, batch_res, skipped, checks


def stats_of(res, per):
    """first / min / median seconds divided by `per` (batches) for each system."""
    out = {}
    for key, r in res.items():
        s = summarize(r["times"], r["others"])
        out[key] = {"first": r["first"] / per, "first_others": r["first_others"],
                    "times": [t / per for t in r["times"]], "others": r["others"],
                    "clean": s["clean"], "n": s["n"],
                    "min": s["min"] and s["min"] / per,
                    "median": s["median"] and s["median"] / per,
                    "median_all": statistics.median(r["times"]) / per if r["times"] else None}
    return out


# ---------------------------------------------------------------- profile

def best_of(fns, reps):
    """Min seconds of each zero-argument function, called in turns (after one call each)."""
    import time
    for fn in fns:
        fn()
    times = [[] for _ in fns]
    for _ in range(reps):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            fn()
            times[i].append(time.perf_counter() - start)
    return [min(t) for t in times]


def hlo_counts(compiled):
    """How many of the interesting instructions an XLA executable's optimized HLO has."""
    import re
    ops = re.findall(r"= [^=]*? (convolution|dot|fusion|copy|concatenate|pad|transpose)\(",
                     compiled.as_text())
    return {op: ops.count(op) for op in ("convolution", "dot", "fusion", "concatenate", "pad",
                                         "copy", "transpose")}


def profile(weights, args, log=print):
    """Where the time of one batch goes: every distinct convolution of the net at its batch
    shape through XLA's convolution, as an im2col matrix product (what gazelle's Conv2D does
    on CPUs) and through PyTorch (NCHW and channels_last), each jitted alone, min of
    `--profile-reps` calls in turns; and the instruction counts of gazelle's compiled
    predict_on_batch against the hand-written forward passes."""
    import collections
    import functools
    import time

    import jax
    import jax.numpy as jnp
    from jax import lax
    rng = np.random.default_rng(args.seed)
    shapes = collections.Counter((n, cin, cout, k, stride, str(padding))
                                 for _, n, cin, cout, k, stride, padding
                                 in conv_layers(args.size))
    paddings = {str(p): p for *_, p in conv_layers(args.size)}
    try:
        import torch
        torch.set_num_threads(args.threads)
    except ImportError:
        torch = None
    rows, totals = [], collections.Counter()
    for (n, cin, cout, k, stride, pkey), count in shapes.items():
        padding = paddings[pkey]
        x = jnp.asarray(rng.standard_normal((args.batch, n, n, cin), dtype=np.float32))
        w = jnp.asarray(rng.standard_normal((k, k, cin, cout), dtype=np.float32) * 0.05)
        xla = jax.jit(lambda x, w, s=stride, p=padding: lax.conv_general_dilated(
            x, w, (s, s), p, dimension_numbers=("NHWC", "HWIO", "NHWC")))
        im2col = jax.jit(functools.partial(im2col_conv, stride=stride, padding=padding))
        fns = [lambda: xla(x, w).block_until_ready(),
               lambda: im2col(x, w).block_until_ready()]
        if torch is not None:
            pad = 3 if k == 7 else (k // 2 if pkey == "SAME" else 0)
            xt = torch.from_numpy(np.asarray(x).transpose(0, 3, 1, 2).copy())
            wt = torch.from_numpy(np.asarray(w).transpose(3, 2, 0, 1).copy())
            xc = xt.contiguous(memory_format=torch.channels_last)
            wc = wt.contiguous(memory_format=torch.channels_last)

            def run_torch(a, b, s=stride, p=pad):
                with torch.inference_mode():
                    return torch.nn.functional.conv2d(a, b, stride=s, padding=p)
            fns += [lambda: run_torch(xt, wt), lambda: run_torch(xc, wc)]
        times = best_of(fns, args.profile_reps) + [None] * (4 - len(fns))
        m = conv_output_size(n, k, stride, padding)
        gmac = args.batch * m * m * k * k * cin * cout / 1e9
        rows.append((n, cin, cout, k, stride, count, gmac, times))
        for key, t in zip(("xla", "im2col", "torch", "torch-cl"), times):
            totals[key] += count * (t or 0)
        totals["best of xla / im2col"] += count * min(times[:2])
        totals["gmac"] += count * gmac
        log(f"  conv {n:3d}x{n:<3d} {cin:4d}->{cout:<4d} {k}x{k}/{stride} x{count}: "
            + "  ".join(f"{t * 1e3:7.1f}" if t else "    n/a" for t in times) + " ms",
            flush=True)

    # gazelle's compiled predict_on_batch against the hand-written passes: the first call
    # (trace, compile, run), then the instructions of the program it compiled
    import gazelle
    model = gazelle.applications.ResNet50(weights=None, input_shape=(args.size, args.size, 3))
    xb = make_images(args.batch, args.size, args.seed)
    counts, compile_s = {}, {}
    start = time.perf_counter()
    model.predict_on_batch(xb)
    compile_s["gazelle"] = time.perf_counter() - start
    fn = model.__dict__.get("_predict_on_batch_fn")     # gazelle internals: may move
    if fn is not None:
        counts["gazelle"] = hlo_counts(fn.lower([v.value for v in model.trainable_variables],
                                                [v.value for v in model.non_trainable_variables],
                                                xb).compile())
    params = {name: [jnp.asarray(w) for w in ws] for name, ws in weights.items()}
    for convs in ("im2col", "xla", "mixed"):
        fn = jax.jit(functools.partial(forward, convs=convs))
        start = time.perf_counter()
        fn(params, xb).block_until_ready()
        compile_s[f"jax-{convs}"] = time.perf_counter() - start
        counts[f"jax-{convs}"] = hlo_counts(fn.lower(params, xb).compile())
    return {"convs": rows, "totals": dict(totals), "hlo": counts, "compile": compile_s}


def format_profile(prof, args):
    ms = lambda s: fmt(None if s is None else s * 1000, 1)  # noqa: E731
    totals = prof["totals"]
    lines = [
        "### Where the time goes",
        "",
        f"Each distinct convolution of the net at batch {args.batch}, jitted alone (min of "
        f"{args.profile_reps} calls in turns, ms; `x n`: how often the net has it). im2col is "
        "what gazelle's Conv2D runs on CPUs (the input sliced once per kernel offset, "
        "concatenated, one matrix product).",
        "",
        "| input | channels | kernel/stride | x n | GMAC | XLA conv | im2col | PyTorch NCHW "
        "| PyTorch channels_last |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for n, cin, cout, k, stride, count, gmac, times in prof["convs"]:
        lines.append(f"| {n}x{n} | {cin}->{cout} | {k}x{k}/{stride} | {count} | {gmac:.2f} | "
                     + " | ".join(ms(t) for t in times) + " |")
    lines.append(f"| all 53, weighted | | | | {totals['gmac']:.1f} | "
                 + " | ".join(ms(totals.get(k)) for k in ("xla", "im2col", "torch",
                                                          "torch-cl")) + " |")
    lines += ["", f"Best of XLA and im2col per shape, all convolutions: "
              f"{ms(totals['best of xla / im2col'])} ms.", "",
              "Optimized HLO of one batch (instruction counts), and the first call (trace, "
              "compile without the persistent cache, run):", "",
              "| program | " + " | ".join(next(iter(prof["hlo"].values())))
              + " | first call s |",
              "|---|" + "---:|" * (len(next(iter(prof["hlo"].values()))) + 1)]
    for name, counts in prof["hlo"].items():   # gazelle's row: its predict_on_batch
        lines.append(f"| {name} | " + " | ".join(str(v) for v in counts.values())
                     + f" | {prof['compile'][name]:.1f} |")
    return "\n".join(lines + [""])


# ---------------------------------------------------------------- report

def format_report(facts, pred, batch, skipped, checks, args, command):
    ms = lambda s: fmt(None if s is None else s * 1000, 0)  # noqa: E731
    ips = lambda s: fmt(None if not s else args.batch / s, 1)  # noqa: E731
    macs = {False: macs_per_image(args.size), True: macs_per_image(args.size, v15=True)}

    def gflops(key, s):
        if not s:
            return "n/a"
        return f"{2 * macs[key == 'torch-tv'] * args.batch / s / 1e9:.0f}"

    lines = [
        "## ResNet50 inference (issue 14)",
        "",
        f"`{command}`: ResNet50 ({args.size}x{args.size}x3, 1000 classes, softmax), batch "
        f"{args.batch}; per round `predict` over {args.batches} batches "
        f"({args.batches * args.batch} images) and one `predict_on_batch` (or the same calls "
        f"of the jitted / eager function); one warm-up round (the first call, compile "
        f"included), then {args.rounds} measured rounds, interleaved. PyTorch threads: "
        f"{args.threads}. {macs[False] / 1e9:.2f} GMACs per image "
        f"({macs[True] / 1e9:.2f} for torchvision's V1.5 layout).",
        "",
        "| system | first predict incl. compile (ms/batch) | min ms/batch | median ms/batch "
        "| images/s (median) | GFLOP/s | first predict_on_batch (ms) | min ms | median ms "
        "| clean rounds |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key in args.systems:
        if key in skipped:
            lines.append(f"| {NAMES[key]} | {skipped[key]} | | | | | | | | |")
            continue
        p, b = pred[key], batch[key]
        busy = p["first_others"] is not None and p["first_others"] >= CLEAN_BELOW
        lines.append(
            f"| {NAMES[key]} | {ms(p['first'])}{' (not clean)' if busy else ''} "
            f"| {ms(p['min'])} | {ms(p['median'])} | {ips(p['median'])} "
            f"| {gflops(key, p['median'])} | {ms(b['first'])} | {ms(b['min'])} "
            f"| {ms(b['median'])} | {p['clean']}/{p['n']} predict, {b['clean']}/{b['n']} "
            "on_batch |")
    lines += ["", "Min and median use the clean rounds of each system (all its rounds when "
              "none was clean); the ratios use the median of all rounds, so that each system "
              "is compared over the same rounds.", "",
              "| ratio (median of all rounds) | predict, per batch | predict_on_batch |",
              "|---|---:|---:|"]
    for label, top, bottom in [("Keras 3 / gazelle", "keras", "gazelle"),
                               ("gazelle / hand-written jax.jit, XLA convolutions",
                                "gazelle", "jax"),
                               ("gazelle / hand-written jax.jit, im2col", "gazelle",
                                "jax-im2col"),
                               ("gazelle / hand-written jax.jit, mixed", "gazelle",
                                "jax-mixed"),
                               ("PyTorch (same net) / gazelle", "torch", "gazelle"),
                               ("PyTorch (same net, channels_last) / gazelle", "torch-cl",
                                "gazelle"),
                               ("PyTorch (torchvision layout) / gazelle", "torch-tv",
                                "gazelle")]:
        if top in pred and bottom in pred:
            lines.append(f"| {label} | "
                         f"{ratio(pred[top]['median_all'], pred[bottom]['median_all'])} "
                         f"| {ratio(batch[top]['median_all'], batch[bottom]['median_all'])} |")
    if checks:
        diffs = ", ".join(f"{k} {v:.1e}" for k, v in checks["predict"].items()
                          if k != checks["reference"])
        lines += ["", f"Outputs checked before timing against {NAMES[checks['reference']]}: "
                  f"top-1 equal for all {args.batches * args.batch} images, max probability "
                  f"difference {diffs} (atol {args.atol})."]
    if "torch-tv" in pred:
        lines += ["", f"torch-tv: {getattr(args, 'torchvision', '')}."]
    lines += ["", "Machine: " + "; ".join(f"{k} {v}" for k, v in facts.items()), ""]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3,
                        help="measured rounds after the warm-up (default 3)")
    parser.add_argument("--batches", type=int, default=4,
                        help="batches per predict call (default 4)")
    parser.add_argument("--batch", type=int, default=32, help="batch size (default 32)")
    parser.add_argument("--size", type=int, default=224,
                        help="image height and width (default 224; at least 32)")
    parser.add_argument("--systems", default=",".join(NAMES),
                        help=f"comma-separated, from {', '.join(NAMES)}")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch.set_num_threads (default: the usable cores)")
    parser.add_argument("--atol", type=float, default=1e-4,
                        help="largest probability difference allowed by the check")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 1 round, 1 batch of 8, 64x64 images")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--profile", action="store_true",
                        help="also time each convolution shape alone and count the compiled "
                             "instructions (where the time goes)")
    parser.add_argument("--profile-reps", type=int, default=3,
                        help="calls per convolution in --profile (default 3)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)
    args.systems = [s for s in args.systems.split(",") if s]
    unknown = sorted(set(args.systems) - set(FACTORIES))
    if unknown:
        parser.error(f"--systems: unknown {unknown}; choose from {sorted(FACTORIES)}.")
    if args.quick:
        args.rounds, args.batches, args.batch, args.size = 1, 1, 8, 64
    if min(args.rounds, args.batches, args.batch) < 1:
        parser.error("--rounds, --batches and --batch must be positive integers.")
    if args.size < 32:
        parser.error(f"--size must be at least 32; received {args.size}.")
    if args.threads is None:
        args.threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") \
            else os.cpu_count()
    command = command_line("resnet50.py", argv if argv is not None else sys.argv[1:])

    facts = machine_facts()
    if any(s.startswith("torch") for s in args.systems):
        facts["torch"] = f"{facts['torch'].split(' (')[0]} (set_num_threads({args.threads}))"
    print_facts(facts)
    import gazelle
    weights = reference_weights(gazelle, args.size, args.seed)
    x = make_images(args.batches * args.batch, args.size, args.seed + 3)
    print(f"data     {x.shape} float32, {args.rounds} rounds after a warm-up", flush=True)
    pred_res, batch_res, skipped, checks = measure(args.systems, weights, x, args)
    pred = stats_of(pred_res, args.batches)
    batch = stats_of(batch_res, 1)
    prof = None
    if args.profile:
        print("profile: each convolution alone (XLA, im2col, torch NCHW, torch channels_last)",
              flush=True)
        prof = profile(weights, args)
    facts["load average at end"] = load_average()
    section = format_report(facts, pred, batch, skipped, checks, args, command)
    if prof:
        section += "\n" + format_profile(prof, args)
    print("\n" + section)
    write_json(args.json, {"workload": "resnet50", "script": "resnet50.py",
                           "command": command, "facts": facts, "batch": args.batch,
                           "batches": args.batches, "rounds": args.rounds, "size": args.size,
                           "predict": pred, "predict_on_batch": batch, "checks": checks,
                           "profile": prof,
                           "skipped": skipped, "markdown": section})


if __name__ == "__main__":
    main()
