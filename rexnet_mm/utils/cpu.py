"""The CPU a figure was measured on: its name and the features that decide
bf16 and int8 speed and accuracy (read from /proc/cpuinfo; nothing runs)."""
import functools
import platform
from typing import Dict

# lscpu/cpuinfo flag names of the features that matter to int8 and bf16
FEATURES = ('avx2', 'avx512f', 'avx512_vnni', 'avx_vnni', 'avx512_bf16', 'amx_bf16',
            'amx_int8')


@functools.lru_cache(maxsize=None)
def cpu_info() -> Dict[str, object]:
    """{'name': model name, 'cores': logical CPUs, 'features': [those of
    FEATURES the CPU has]}."""
    import os
    name, flags = platform.processor() or platform.machine(), set()
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                key, _, value = line.partition(':')
                if key.strip() == 'model name' and name in ('', platform.machine()):
                    name = value.strip()
                elif key.strip() == 'flags' and not flags:
                    flags = set(value.split())
    except OSError:  # not Linux
        pass
    return dict(name=name, cores=len(os.sched_getaffinity(0)) if hasattr(
        os, 'sched_getaffinity') else os.cpu_count(),
        features=[f for f in FEATURES if f in flags])


def has_int8_dot() -> bool:
    """Whether the CPU has int8 dot-product instructions (VNNI or AMX-int8):
    without them, u8 x s8 products of full-range weights can saturate, and
    onnxruntime's guide asks for 7-bit weights (reduce_range)."""
    return bool({'avx512_vnni', 'avx_vnni', 'amx_int8'} & set(cpu_info()['features']))


def describe_cpu() -> str:
    """'AMD EPYC, 2 CPUs, avx2 avx512f avx512_vnni': one line for a table."""
    info = cpu_info()
    return (f'{info["name"]}, {info["cores"]} CPUs, '
            f'{" ".join(info["features"]) or "no AVX2"}')
