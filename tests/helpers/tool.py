"""Test helper: run a repo tool as a user would, in a subprocess."""
import os
import os.path as osp
import subprocess

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def run_tool(cmd, cwd=ROOT, timeout=900, env=None, threads='2'):
    """Run ``cmd`` with the checkout on PYTHONPATH; fail the test, showing
    the output's tail, unless it exits 0. Returns stdout + stderr."""
    e = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS=threads)
    e.update(env or {})
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=e)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f'{cmd} failed ({proc.returncode}):\n{out[-4000:]}'
    return out
