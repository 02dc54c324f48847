#!/usr/bin/env bash
# GPU check, run through the device tool with the keras oracle's wheels carried in .whl/:
# the test suite on the GPU (minus tests/distribution, which forces CPU host devices),
# the pooling kernels, and epoch timings next to Keras 3 (JAX backend) and PyTorch.
#   run(command="bash bench/device_check.sh", carry=[".whl"], timeout_s=540)
set -u
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1 KERAS_BACKEND=jax JAX_PLATFORMS=cuda XLA_PYTHON_CLIENT_PREALLOCATE=false
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
nvidia-smi -L
python3 -c "import jax, optax, keras; print('jax', jax.__version__, 'keras', keras.__version__, jax.devices())"
start=$SECONDS
timeout 230 python3 -m pytest -q -rf -p no:cacheprovider -n 8 --timeout 150 tests \
  --ignore=tests/distribution > "$OUT/pytest.log" 2>&1
echo "pytest rc=$? in $((SECONDS - start)) s"; grep -E "^(FAILED|ERROR)|passed|failed" "$OUT/pytest.log" | tail -40
timeout 60 python3 bench/pooling.py 2>&1 | tee "$OUT/pooling.log"
timeout 90 python3 bench/steady_epoch.py --rounds 1 --epochs 4 2>&1 | tee "$OUT/steady.log" | tail -12
timeout 100 python3 bench/seed_mlp.py --rounds 2 2>&1 | tee "$OUT/seed_mlp.log" | tail -14
timeout 80 python3 bench/cnn_course.py --epochs 3 2>&1 | tee "$OUT/cnn.log" | tail -8
echo "total $SECONDS s"
