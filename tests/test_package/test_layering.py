"""The package's layers point one way: ``utils`` (file I/O) <- ``models`` <-
registration (``registry``) <- ``runner``, ``deploy``, ``research``, and the
package's ``__init__`` above them all; modules and subpackages form DAGs. Read from
the source (every import, also those inside functions), so that a lazy import
cannot hide an upward one."""
import ast
import os
import os.path as osp

import pytest

from helpers.tool import ROOT

PKG = osp.join(ROOT, 'rexnet_mm')
LAYER = {'version': 0, 'utils': 0, 'models': 1, 'registry': 1.5, 'mmdet_compat': 1.5,
         'runner': 2, 'deploy': 2, 'research': 2}
TOP = 3  # rexnet_mm/__init__.py: what `import rexnet_mm` runs


def _modules():
    """{'rexnet_mm.models.rexnet': path, ...}"""
    out = {}
    for root, _, files in os.walk(PKG):
        for f in files:
            if f.endswith('.py'):
                rel = osp.relpath(osp.join(root, f), osp.dirname(PKG))[:-3].split(os.sep)
                if rel[-1] == '__init__':
                    rel = rel[:-1]
                out['.'.join(rel)] = osp.join(root, f)
    return out


def _imports(name, path):
    """rexnet_mm modules that ``name`` imports (``from x import y``: x.y where
    that is a module, else x)."""
    tree = ast.parse(open(path).read(), path)
    package = name if path.endswith('__init__.py') else name.rpartition('.')[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ''
            if node.level:
                parts = package.split('.')[:len(package.split('.')) - node.level + 1]
                base = '.'.join(parts + ([base] if base else []))
            found.add(base)
            found.update(f'{base}.{a.name}' for a in node.names)
    return {m for m in found if m.split('.')[0] == 'rexnet_mm'}


def _layer(module):
    parts = module.split('.')
    return LAYER.get(parts[1], TOP) if len(parts) > 1 else TOP


@pytest.fixture(scope='module')
def graph():
    mods = _modules()
    return mods, {m: _imports(m, p) & set(mods) for m, p in mods.items()}


def test_every_subpackage_has_a_layer(graph):
    mods, _ = graph
    subs = {m.split('.')[1] for m in mods if m != 'rexnet_mm'}
    assert subs <= set(LAYER), f'add {sorted(subs - set(LAYER))} to LAYER'


def test_no_module_imports_a_higher_layer(graph):
    """utils knows no arch; models no runner, deploy or research code."""
    _, edges = graph
    upward = sorted(f'{a} -> {b}' for a, targets in edges.items() for b in targets
                    if _layer(b) > _layer(a))
    assert not upward, 'imports against the layering:\n' + '\n'.join(upward)


def _cycle(edges):
    """One cycle of the directed graph ``edges`` as a list, or None."""
    state = {}

    def visit(node, stack):
        state[node] = 'open'
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 'open':
                return stack + [node, nxt]
            if nxt not in state:
                found = visit(nxt, stack + [node])
                if found:
                    return found
        state[node] = 'done'
        return None

    for node in sorted(edges):
        if node not in state:
            found = visit(node, [])
            if found:
                return found
    return None


def test_subpackages_form_a_dag(graph):
    """runner, deploy and research may use one another, but never in a circle."""
    _, edges = graph
    sub = {}
    for a, targets in edges.items():
        for b in targets:
            pa, pb = a.split('.')[1:2], b.split('.')[1:2]
            if pa and pb and pa != pb:
                sub.setdefault(pa[0], set()).add(pb[0])
    cycle = _cycle(sub)
    assert cycle is None, 'subpackages import each other: ' + ' -> '.join(cycle)


def test_modules_form_a_dag(graph):
    """No import cycle between modules, counting the imports inside
    functions too (a lazy import only hides a circle until it runs)."""
    _, edges = graph
    edges = {m: {n for n in targets if n != m and not n.startswith(m + '.')}  # a package's own
             for m, targets in edges.items()}
    cycle = _cycle(edges)
    assert cycle is None, 'import cycle: ' + ' -> '.join(cycle)


def test_the_checker_sees_upward_imports(tmp_path):
    """The reader resolves relative imports, also inside functions."""
    path = tmp_path / 'checkpoint.py'
    path.write_text('def f():\n    from ..models.convert import key_map\n')
    found = _imports('rexnet_mm.utils.checkpoint', str(path))
    assert 'rexnet_mm.models.convert' in found
    assert _layer('rexnet_mm.models.convert') > _layer('rexnet_mm.utils.checkpoint')
    assert _cycle({'a': {'b'}, 'b': {'c'}, 'c': {'a'}}) == ['a', 'b', 'c', 'a']
    assert _cycle({'a': {'b'}, 'b': set()}) is None


def test_configs_import_no_code():
    """Configs are data over `_base_` files: none imports rexnet_mm (or
    anything else) or loads a sibling with Config.fromfile."""
    configs = osp.join(osp.dirname(PKG), 'configs')
    found = []
    for root, _, files in os.walk(configs):
        for f in sorted(files):
            if not f.endswith('.py'):
                continue
            path = osp.join(root, f)
            with open(path) as fh:
                tree = ast.parse(fh.read(), path)
            for node in ast.walk(tree):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    found.append(f'{osp.relpath(path, configs)}:{node.lineno} imports')
                elif isinstance(node, ast.Attribute) and node.attr == 'fromfile':
                    found.append(f'{osp.relpath(path, configs)}:{node.lineno} Config.fromfile')
    assert not found, found
