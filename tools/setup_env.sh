#!/usr/bin/env bash
# Set up rexnet_mm's environment in <checkout>/.venv: torch, mmengine, mmcv
# (built from the PyPI sdist WITH its compiled ops), mmdet, mmpretrain,
# mmsegmentation, pycocotools, onnx + onnxruntime + openvino and rexnet_mm itself
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
#   INSTALLER            uv or pip                             (uv)
#
# Installs go through uv (installed into the venv by pip): it keeps unpacked
# wheels in ~/.cache/uv and links them into a new venv, so a second set-up
# installs torch in about a second instead of a minute. uv reads PyPI (or
# UV_INDEX_URL), not pip.conf; INSTALLER=pip uses pip and pip.conf for all.
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
INSTALLER=${INSTALLER:-uv}
case $INSTALLER in uv|pip) ;; *)
  echo "[setup] INSTALLER=$INSTALLER: expected uv or pip" >&2; exit 2 ;;
esac

mkdir -p "$LOGDIR"
T0=$(date +%s)

# Everything that decides what gets installed; a change re-runs the set-up.
fingerprint() {
  { cat "$ROOT/setup.py" "$ROOT/tools/setup_env.sh"
    echo "$TORCH_SPEC $MMCV_VERSION $MMENGINE_SPEC $MMDET_SPEC $MMPRETRAIN_SPEC $MMSEG_SPEC ${FORCE_CUDA:-0} $INSTALLER"
  } | sha256sum | cut -c1-16
}

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(fingerprint)" ] && [ -x "$VENV/bin/python" ]; then
  echo "[setup] environment is current ($VENV); nothing to do"
  exit 0
fi

# step NAME CMD...: run CMD with its output in $LOGDIR/NAME.log, print the duration.
# With UNITS=1, also a line per compiled unit as ninja finishes it.
step() {
  local name=$1; shift
  local log=$LOGDIR/$name.log rc
  local t=$(date +%s)
  if [ -n "${UNITS:-}" ]; then
    printf '[setup] %-28s ...\n' "$name"
    "$@" 2>&1 | unit_progress "$log" "$t"
    rc=${PIPESTATUS[0]}
    printf '[setup] %-28s ... ' "$name"
  else
    printf '[setup] %-28s ... ' "$name"
    "$@" >"$log" 2>&1
    rc=$?
  fi
  if [ "$rc" -eq 0 ]; then
    printf 'ok (%ds)\n' "$(( $(date +%s) - t ))"
  else
    printf 'FAILED (%ds)\n' "$(( $(date +%s) - t ))"
    echo "[setup] last lines of $log:" >&2
    grep -v '^\s*$' "$log" | tail -n 15 | sed 's/^/    /' >&2
    echo "[setup] step '$name' failed; full log: $log" >&2
    exit 1
  fi
}

# unit_progress LOG START: copy stdin to LOG; for each "[n/N] ... -c SRC -o ..."
# line (ninja -v prints one as each unit finishes, pip -v indents it) print
# "[setup]   mmcv ops n/N SRC SECONDS".
unit_progress() {
  local line re='^ *\[([0-9]+)/([0-9]+)\] .* -c ([^ ]+) -o '
  exec 3>"$1"
  while IFS= read -r line; do
    printf '%s\n' "$line" >&3
    if [[ $line == *'running build_ext'* ]]; then
      printf '[setup]   mmcv ops: compiling; the first units wait about 30s for the shared header\n'
    elif [[ $line =~ $re ]]; then
      printf '[setup]   mmcv ops %s/%s %-32s %4ds\n' "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}" \
        "${BASH_REMATCH[3]##*/}" "$(( $(date +%s) - $2 ))"
    fi
  done
  exec 3>&-
}

PIP="$VENV/bin/python -m pip"

# install ARGS...: pip install ARGS into the venv, through uv unless INSTALLER=pip.
# --compile-bytecode does what pip does by default: without .pyc files (and with
# PYTHONDONTWRITEBYTECODE set, as on some CI machines) every process recompiles
# torch's and the toolkits' modules at import; the test suite ran twice as long.
install() {
  if [ "$INSTALLER" = uv ]; then
    "$VENV/bin/uv" pip install --compile-bytecode --python "$VENV/bin/python" "$@"
  else
    $PIP install "$@"
  fi
}

create_venv() { [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"; }
build_tools() {
  local uv=; [ "$INSTALLER" = uv ] && uv=uv
  $PIP install "$SETUPTOOLS_SPEC" wheel ninja $uv
}
install_torch() { install $TORCH_SPEC; }

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
  # Two cuts to the compile, neither changing the machine code (tools/setup/README.md):
  # -g0 drops debug information, and pch_cxx.py parses torch's headers once
  # instead of once per unit. setuptools replaces the interpreter's CFLAGS
  # (-DNDEBUG -g -fwrapv -O3 -Wall ...) with $CFLAGS, so -g0 goes after them.
  local real_cxx=${CXX:-c++} cflags
  cflags=$("$VENV/bin/python" -c "import sysconfig; print(sysconfig.get_config_var('CFLAGS') or '')")
  CFLAGS="$cflags ${CFLAGS:-} -g0" PCH_CXX_REAL="$real_cxx" CXX="$ROOT/tools/setup/pch_cxx.py" \
    PCH_CXX_DIR="$tmp/pch" TORCH_NO_COMPILER_WRAPPER=1 MMCV_WITH_OPS=1 \
    $PIP wheel --no-deps --no-build-isolation -v -w "$tmp/wheel" "$tmp/mmcv-$MMCV_VERSION" || return 1
  mkdir -p "$dst.part" && cp "$tmp"/wheel/mmcv-*.whl "$dst.part"/ && rm -rf "$dst" && mv "$dst.part" "$dst"
  rm -rf "$tmp"
}

install_mmcv() {
  local whl
  whl=$(ls "$MMCV_DIR"/mmcv-*.whl 2>/dev/null | head -n1)
  [ -n "$whl" ] || { echo "no wheel in $MMCV_DIR"; return 1; }
  # with its dependencies (opencv, addict, yapf, ...) and the pinned mmengine
  install "$whl" "$SETUPTOOLS_SPEC" $MMENGINE_SPEC
}

install_toolkits() {
  install "$SETUPTOOLS_SPEC" $MMENGINE_SPEC $MMDET_SPEC $MMPRETRAIN_SPEC $MMSEG_SPEC pycocotools
}
install_package() { install -e "$ROOT[all,deploy,tests,lint]"; }
check() {
  "$VENV/bin/python" -c "import rexnet_mm, mmdet, mmpretrain, mmseg.utils, mmcv.ops, onnxruntime, openvino, torch; from mmcv.ops import nms, roi_align; print('torch', torch.__version__, '| mmcv', mmcv.__version__, '| mmdet', mmdet.__version__, '| mmpretrain', mmpretrain.__version__, '| mmseg', mmseg.__version__, '| onnxruntime', onnxruntime.__version__, '| openvino', openvino.__version__)"
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
  echo "[setup] building mmcv $MMCV_VERSION with compiled ops ($MMCV_KEY, MAX_JOBS=$MAX_JOBS; about 4 min on 2 cores)"
  UNITS=1 step 04-build-mmcv build_mmcv "$MMCV_DIR"
fi
step 05-install-mmcv install_mmcv
step 06-toolkits install_toolkits
step 07-rexnet_mm install_package
step 08-check check
tail -n1 "$LOGDIR/08-check.log" | sed 's/^/[setup] /'
fingerprint >"$STAMP"
echo "[setup] done in $(( $(date +%s) - T0 ))s"
