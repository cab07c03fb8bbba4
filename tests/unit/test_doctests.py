"""Every example in a docstring of the library runs and prints what it says (45 examples when written)."""

import doctest
import importlib
import pkgutil

import pytest

import ghpo

MODULES = sorted(m.name for m in pkgutil.walk_packages(ghpo.__path__, "ghpo.")
                 if m.name != "ghpo.vllm_cpu")  # imports vLLM, absent from the default environment


@pytest.mark.parametrize("name", ["ghpo", *MODULES])
def test_docstring_examples_hold(name):
    failures, _ = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert failures == 0, name


def test_the_examples_are_found():
    tried = sum(doctest.testmod(importlib.import_module(n), report=False).attempted for n in ["ghpo", *MODULES])
    assert tried >= 45
