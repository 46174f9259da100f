"""Statuses and error classes come from the core's schema (issue 23): every kind the core names
has its class here with the core's parent, the static types (_types.pyi) name each of them, and
a code without a class of its own is a plain verikit.Error."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, Set

import pytest

import verikit
import verikit._types
import verikit._verikit as native

KINDS = native.error_kinds()
STATUSES = native.statuses()


def test_the_schema_is_the_core_s() -> None:
    assert [k[0] for k in KINDS] == list(range(-1, -11, -1))
    assert [(v, n) for v, n, _, _ in STATUSES] == [(s.value, s.name.lower()) for s in verikit.Status]
    assert {n for _, n, ok, _ in STATUSES if ok} == {"verified", "valid", "issued"}


@pytest.mark.parametrize("code,name,class_name,parent,doc", KINDS)
def test_every_error_kind_raises_its_class(code: int, name: str, class_name: str, parent: int, doc: str) -> None:
    exc = verikit._types.error(code, "boom")
    assert exc.code == code and exc.message == "boom" and str(exc) == "boom"
    if not class_name:
        assert type(exc) is verikit.Error
        return
    cls = getattr(verikit, class_name)
    assert type(exc) is cls and class_name in verikit.__all__
    base = getattr(verikit, next(k[2] for k in KINDS if k[0] == parent)) if parent else verikit.Error
    assert cls.__bases__[0] is base
    assert issubclass(cls, ValueError) == (name in ("invalid_argument", "config"))
    assert doc.split(":")[0].split(";")[0].lower() in cls.__doc__.lower()


def test_the_0_1_names_are_the_same_classes() -> None:
    assert verikit.InvalidArgument is verikit.InvalidArgumentError
    assert verikit.StoreUnavailable is verikit.StoreUnavailableError
    assert verikit.Timeout is verikit.TimeoutError
    assert verikit.Unsupported is verikit.UnsupportedError
    assert issubclass(verikit.TimeoutError, verikit.StoreUnavailable)


def test_a_wrong_key_length_raises_the_schema_class() -> None:
    with pytest.raises(verikit.InvalidArgumentError) as info:
        verikit.Engine(key=b"short")
    assert info.value.code == -1


def stub_names() -> Dict[str, Set[str]]:
    stub = Path(verikit._types.__file__).with_suffix(".pyi")
    assert stub.is_file(), "the package ships _types.pyi"
    classes: Dict[str, Set[str]] = {}
    for node in ast.parse(stub.read_text()).body:
        if isinstance(node, ast.ClassDef):
            classes[node.name] = {t.id for s in node.body if isinstance(s, ast.Assign) for t in s.targets
                                  if isinstance(t, ast.Name)}
    return classes


def test_the_static_types_name_every_status_and_class() -> None:
    stub = ast.parse(Path(verikit._types.__file__).with_suffix(".pyi").read_text())
    declared = next(ast.literal_eval(n.value) for n in stub.body if isinstance(n, ast.Assign)
                    and any(isinstance(t, ast.Name) and t.id == "__all__" for t in n.targets))
    assert sorted(declared) == sorted(verikit._types.__all__)
    classes = stub_names()
    assert classes["Status"] == {s.name for s in verikit.Status}
    for _, _, class_name, _, _ in KINDS:
        if class_name:
            assert class_name in classes, f"_types.pyi lacks {class_name}"
