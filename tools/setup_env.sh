#!/usr/bin/env bash
# Set up rexnet_mm's environment in <checkout>/.venv: torch, mmengine, mmcv
# (built from the PyPI sdist WITH its compiled ops), mmdet, mmpretrain,
# mmsegmentation, pycocotools, onnx + onnxruntime and rexnet_mm itself
# (editable). Idempotent: a second run with nothing changed returns at once.
# Each step prints its duration; a failing step prints the tail of its log and
# the log's path.
#
# Knobs (environment variables):
#   VENV                 where the virtual environment goes   (<checkout>/.venv)
#   PYTHON               interpreter that creates it          (python3)
#   TORCH_SPEC           pip spec(s) for torch/torchvision    (torch==2.14.1 torchvision==0.29.1)
#   MMCV_VERSION         mmcv release built from its sdist    (2.1.0)
#   REXNET_MM_CACHE      cache for the built mmcv wheel       (~/.cache/rexnet_mm)
#   FORCE_CUDA=1         build mmcv's CUDA ops even if no GPU is visible (needs nvcc)
#   MAX_JOBS             parallel compile jobs for mmcv       (number of cores)
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${VENV:-$ROOT/.venv}
PYTHON=${PYTHON:-python3}
TORCH_SPEC=${TORCH_SPEC:-torch==2.14.1 torchvision==0.29.1}
MMCV_VERSION=${MMCV_VERSION:-2.1.0}
MMENGINE_SPEC=${MMENGINE_SPEC:-mmengine==0.10.7}
MMDET_SPEC=${MMDET_SPEC:-mmdet==3.3.0}
MMPRETRAIN_SPEC=${MMPRETRAIN_SPEC:-mmpretrain==1.2.0}
# mmseg.utils imports ftfy and regex without declaring them (mmseg#3704)
MMSEG_SPEC=${MMSEG_SPEC:-mmsegmentation==1.2.2 ftfy regex}
# mmcv's setup.py and mmengine's `mmdet::` config lookup both need pkg_resources.
SETUPTOOLS_SPEC='setuptools>=77.0.3,<81'
CACHE=${REXNET_MM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rexnet_mm}
LOGDIR=$ROOT/.setup-logs
STAMP=$VENV/.rexnet_mm_setup
export MAX_JOBS=${MAX_JOBS:-$(nproc 2>/dev/null || echo 2)}
export PIP_DISABLE_PIP_VERSION_CHECK=1

mkdir -p "$LOGDIR"
T0=$(date +%s)

# Everything that decides what gets installed; a change re-runs the set-up.
fingerprint() {
  { cat "$ROOT/setup.py" "$ROOT/tools/setup_env.sh"
    echo "$TORCH_SPEC $MMCV_VERSION $MMENGINE_SPEC $MMDET_SPEC $MMPRETRAIN_SPEC $MMSEG_SPEC ${FORCE_CUDA:-0}"
  } | sha256sum | cut -c1-16
}

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(fingerprint)" ] && [ -x "$VENV/bin/python" ]; then
  echo "[setup] environment is current ($VENV); nothing to do"
  exit 0
fi

# step NAME CMD...: run CMD with its output in $LOGDIR/NAME.log, print the duration.
step() {
  local name=$1; shift
  local log=$LOGDIR/$name.log
  local t=$(date +%s)
  printf '[setup] %-28s ... ' "$name"
  if "$@" >"$log" 2>&1; then
    printf 'ok (%ds)\n' "$(( $(date +%s) - t ))"
  else
    printf 'FAILED (%ds)\n' "$(( $(date +%s) - t ))"
    echo "[setup] last lines of $log:" >&2
    grep -v '^\s*$' "$log" | tail -n 15 | sed 's/^/    /' >&2
    echo "[setup] step '$name' failed; full log: $log" >&2
    exit 1
  fi
}

PIP="$VENV/bin/python -m pip"

create_venv() { [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"; }
build_tools() { $PIP install "$SETUPTOOLS_SPEC" wheel ninja; }
install_torch() { $PIP install $TORCH_SPEC; }

# The mmcv wheel is cached outside the checkout, keyed by every version the
# compiled ops depend on.
mmcv_key() {
  "$VENV/bin/python" - "$MMCV_VERSION" <<'PY'
import os, platform, shutil, sys, torch
cuda = os.environ.get('FORCE_CUDA') == '1' or (
    torch.cuda.is_available() and torch.version.cuda is not None
    and shutil.which('nvcc') is not None)
dev = 'cu' + torch.version.cuda.replace('.', '') if cuda and torch.version.cuda else 'cpu'
print(f'mmcv{sys.argv[1]}-torch{torch.__version__.replace("+", "_")}-'
      f'py{sys.version_info[0]}{sys.version_info[1]}-{dev}-{platform.machine()}')
PY
}

build_mmcv() {
  local dst=$1 tmp
  tmp=$(mktemp -d)
  # The sdist only (no prebuilt wheel): its metadata step imports torch, hence no isolation.
  $PIP download --no-deps --no-binary mmcv --no-build-isolation "mmcv==$MMCV_VERSION" -d "$tmp" || return 1
  tar -xzf "$tmp"/mmcv-"$MMCV_VERSION".tar.gz -C "$tmp" || return 1
  # torch >= 2.5 headers need C++20; the sdist asks for c++14/17.
  sed -i -e 's/-std=c++14/-std=c++20/g' -e 's/-std=c++17/-std=c++20/g' "$tmp/mmcv-$MMCV_VERSION/setup.py"
  MMCV_WITH_OPS=1 $PIP wheel --no-deps --no-build-isolation -v -w "$tmp/wheel" "$tmp/mmcv-$MMCV_VERSION" || return 1
  mkdir -p "$dst.part" && cp "$tmp"/wheel/mmcv-*.whl "$dst.part"/ && rm -rf "$dst" && mv "$dst.part" "$dst"
  rm -rf "$tmp"
}

install_mmcv() {
  local whl
  whl=$(ls "$MMCV_DIR"/mmcv-*.whl 2>/dev/null | head -n1)
  [ -n "$whl" ] || { echo "no wheel in $MMCV_DIR"; return 1; }
  # with its dependencies (opencv, addict, yapf, ...) and the pinned mmengine
  $PIP install "$whl" "$SETUPTOOLS_SPEC" $MMENGINE_SPEC || return 1
  "$VENV/bin/python" -c "import mmcv, mmcv.ops; from mmcv.ops import nms, roi_align; print('mmcv', mmcv.__version__, 'with compiled ops')"
}

install_toolkits() {
  $PIP install "$SETUPTOOLS_SPEC" $MMENGINE_SPEC $MMDET_SPEC $MMPRETRAIN_SPEC $MMSEG_SPEC pycocotools
}
install_package() { $PIP install -e "$ROOT[all,deploy,tests,lint]"; }
check() {
  "$VENV/bin/python" -c "import rexnet_mm, mmdet, mmpretrain, mmseg.utils, mmcv.ops, onnxruntime, torch; print('torch', torch.__version__, '| mmcv', mmcv.__version__, '| mmdet', mmdet.__version__, '| mmpretrain', mmpretrain.__version__, '| mmseg', mmseg.__version__, '| onnxruntime', onnxruntime.__version__)"
}

echo "[setup] environment: $VENV (logs in $LOGDIR)"
step 01-venv create_venv
step 02-build-tools build_tools
step 03-torch install_torch
MMCV_KEY=$(mmcv_key) || { echo "[setup] cannot import torch from $VENV" >&2; exit 1; }
MMCV_DIR=$CACHE/wheels/$MMCV_KEY
if ls "$MMCV_DIR"/mmcv-*.whl >/dev/null 2>&1; then
  echo "[setup] mmcv wheel cached: $MMCV_DIR"
else
  echo "[setup] building mmcv $MMCV_VERSION with compiled ops ($MMCV_KEY, MAX_JOBS=$MAX_JOBS; ~11 min on 2 cores)"
  step 04-build-mmcv build_mmcv "$MMCV_DIR"
fi
step 05-install-mmcv install_mmcv
step 06-toolkits install_toolkits
step 07-rexnet_mm install_package
step 08-check check
tail -n1 "$LOGDIR/08-check.log" | sed 's/^/[setup] /'
fingerprint >"$STAMP"
echo "[setup] done in $(( $(date +%s) - T0 ))s"
