#!/usr/bin/env bash
# A short GPU check of the newer test files (ops, attention, recurrent, export, custom steps,
# symbolic ops, loader limits, doctor), with the keras oracle's wheels carried in .whl/:
#   run(command="bash bench/device_check_quick.sh", carry=[".whl"], timeout_s=330)
set -u
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1 KERAS_BACKEND=jax JAX_PLATFORMS=cuda XLA_PYTHON_CLIENT_PREALLOCATE=false
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
nvidia-smi -L
python3 -c "import jax, optax, keras; print('jax', jax.__version__, 'keras', keras.__version__, jax.devices())"
start=$SECONDS
timeout 260 python3 -m pytest -q -rf -p no:cacheprovider -n 12 --dist loadfile --timeout 200 \
  tests/ops tests/layers/test_attention.py tests/layers/test_recurrent.py \
  tests/layers/test_masking.py tests/layers/test_masking_passthrough.py tests/export \
  tests/training/test_custom_steps.py tests/training/test_run_eagerly.py \
  tests/models/test_symbolic_ops.py tests/models/test_model_construction.py \
  tests/saving/test_loader_limits.py tests/doctor/test_precision.py \
  tests/metrics/test_confusion_metrics.py > "$OUT/pytest.log" 2>&1
echo "pytest rc=$? in $((SECONDS - start)) s"; grep -E "^(FAILED|ERROR)|passed|failed" "$OUT/pytest.log" | tail -40
