"""Every example in a docstring of the library runs and prints what it says (70 examples when written)."""

import doctest
import importlib
import importlib.util
import pkgutil
from pathlib import Path

import pytest

import ghpo

MODULES = sorted(m.name for m in pkgutil.walk_packages(ghpo.__path__, "ghpo.")
                 if m.name != "ghpo.vllm_cpu")  # imports vLLM, absent from the default environment


@pytest.mark.parametrize("name", ["ghpo", *MODULES])
def test_docstring_examples_hold(name):
    failures, _ = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert failures == 0, name


def test_the_examples_are_found():
    """walk_packages skips a subpackage that fails to import: a floor on the examples found catches that."""
    finder = doctest.DocTestFinder()
    found = sum(len(t.examples) for n in ["ghpo", *MODULES] for t in finder.find(importlib.import_module(n)))
    assert found >= 60  # 70 when written


BENCHMARKS = sorted(p for p in (Path(__file__).parents[2] / "benchmarks").glob("*.py"))


@pytest.mark.parametrize("path", BENCHMARKS, ids=lambda p: p.name)
def test_benchmark_docstring_examples_hold(path):
    """The benchmark scripts' helpers too (imported, not run: each runs only under ``__main__``)."""
    spec = importlib.util.spec_from_file_location(f"bench_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    failures, _ = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert failures == 0, path.name
