"""Check your answer to an exercise of The PyTorch Primer without seeing the book's solution.

In a chapter's notebook, each exercise has a cell for your answer that ends with a call such as

>>> check("tensors-1", D)  # doctest: +SKIP
Exercise tensors-1: ✓ your answer matches the book's.

`check` compares your answer with a *fingerprint* of the book's answer, recorded when the book
was built from the hidden solution: the type, the shape and dtype of a tensor, and for floating
point values eight weighted sums of the values with fixed pseudo-random weights (so the values
themselves are not stored). Two answers that agree element by element within the exercise's
tolerance always pass; a wrong answer passing all eight sums by chance is practically
impossible. Integers, booleans and strings are compared exactly, through a hash salted with
the exercise and the place in the answer. Where a wrong answer is common, the chapter recorded
it too, with a hint.

The fingerprints keep the answers from being read at a glance, not from a determined search: an
answer with few possible values (True or False, a small whole number, a single number, a tensor
of a handful of values) can be found by trying values against its fingerprint, and the hints are
plain text. That is a learning aid's trade-off: the solution is in the notebook anyway, folded.

The build calls `record` in a hidden cell after each solution: it fingerprints the solution, the
exercise's starting point and the plausible wrong answers, checks that the solution passes and
the others fail, and emits the fingerprints as a cell output, from which the notebooks are made.

Needs only Python, NumPy and PyTorch.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import sys
from typing import Any

import numpy as np
import torch

__all__ = ["Checker", "fingerprint", "compare", "record", "MIME"]

MIME = "application/vnd.primer.check+json"  # the type of record()'s output in the executed notebook
PROJECTIONS = 8  # weighted sums per floating point value
SEED = 20261130  # NumPy's RandomState stream is frozen (NEP 19): the same weights everywhere


def _weights(n: int) -> np.ndarray:
    return np.random.RandomState(SEED).standard_normal((PROJECTIONS, n))


def _digest(data: bytes, salt: str) -> str:
    """SHA-256 of DATA, salted with the exercise and the place in the answer: equal values in two
    places or two exercises do not show as equal hashes."""
    return hashlib.sha256(salt.encode() + b"\0" + data).hexdigest()


def _type_name(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return "a tensor"
    if isinstance(value, np.ndarray):
        return "a NumPy array"
    if isinstance(value, bool):
        return "True or False"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple, torch.Size)):
        return "a list or tuple"
    if isinstance(value, dict):
        return "a dict"
    if value is None:
        return "None"
    return f"a {type(value).__name__}"


def fingerprint(value: Any, atol: float = 1e-5, rtol: float = 1e-4, salt: str = "") -> dict:
    """A JSON-able description of VALUE that does not show it, against which another value can
    be compared (`compare`). Floating point values within ATOL + RTOL * |x|
    of VALUE, element by element, always compare equal. SALT: the exercise (and, inside, the
    place of each part), with which `compare` must be called too."""
    if isinstance(value, torch.Tensor):
        tensor = value.detach().cpu()
        fp = {"kind": "tensor", "shape": list(tensor.shape), "dtype": str(tensor.dtype).removeprefix("torch.")}
        if tensor.is_floating_point() or tensor.is_complex():
            if tensor.is_complex():
                tensor = torch.view_as_real(tensor)
            values = tensor.to(torch.float64).flatten().numpy()
            if not np.isfinite(values).all():
                raise ValueError("a fingerprinted answer must be finite (no nan or inf)")
            w = _weights(values.size)
            fp.update(sums=(w @ values).tolist(), weight=np.abs(w).sum(axis=1).tolist(),
                      scale=(np.abs(w) @ np.abs(values)).tolist(), atol=atol, rtol=rtol)
        else:
            fp["sha256"] = _digest(tensor.to(torch.int64).contiguous().numpy().astype("<i8").tobytes(), salt)
        return fp
    if isinstance(value, np.ndarray):
        return {**fingerprint(torch.from_numpy(np.ascontiguousarray(value)), atol, rtol, salt), "kind": "ndarray"}
    if isinstance(value, bool) or value is None:
        return {"kind": "exact", "sha256": _digest(repr(value).encode(), salt)}
    if isinstance(value, int):
        return {"kind": "int", "sha256": _digest(str(value).encode(), salt)}
    if isinstance(value, float):
        return {"kind": "float", "value": fingerprint(torch.tensor([value], dtype=torch.float64), atol, rtol, salt)}
    if isinstance(value, str):
        return {"kind": "str", "sha256": _digest(value.strip().encode(), salt)}
    if isinstance(value, (list, tuple, torch.Size)):
        return {"kind": "sequence", "items": [fingerprint(v, atol, rtol, f"{salt}[{i}]") for i, v in enumerate(value)]}
    if isinstance(value, dict):
        return {"kind": "dict", "items": {str(k): fingerprint(v, atol, rtol, f"{salt}[{str(k)!r}]") for k, v in value.items()}}
    raise TypeError(f"cannot fingerprint {type(value).__name__}: record an expression that gives "
                    "tensors, numbers, strings, lists or dicts of them")


def _shape(shape) -> str:
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def compare(fp: dict, value: Any, where: str = "", salt: str = "") -> str | None:
    """None when VALUE matches the fingerprint FP (made with SALT), else what differs, in a
    sentence. WHERE: the place inside the answer, as fingerprint() extends the salt."""
    at = f" at {where}" if where else ""
    kind = fp["kind"]
    if value is None and not (kind == "exact" and fp["sha256"] == _digest(b"None", salt + where)):  # the starting point
        return f"no answer yet{at}: replace None with yours"
    if isinstance(value, np.generic):  # a NumPy scalar: its Python value
        value = value.item()
    if kind in ("exact", "int", "float") and isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()  # a one-element tensor where a number was expected: its value
    if kind in ("tensor", "ndarray"):
        if isinstance(value, np.ndarray) and kind == "tensor":
            return f"a tensor was expected{at}, not a NumPy array: torch.from_numpy(...) converts one"
        if not isinstance(value, (torch.Tensor, np.ndarray)):
            return f"{'a tensor' if kind == 'tensor' else 'a NumPy array'} was expected{at}, not {_type_name(value)}"
        tensor = torch.from_numpy(np.ascontiguousarray(value)) if isinstance(value, np.ndarray) else value.detach().cpu()
        if list(tensor.shape) != fp["shape"]:
            return f"shape {_shape(fp['shape'])} was expected{at}, yours is {_shape(tensor.shape)}"
        dtype = str(tensor.dtype).removeprefix("torch.")
        if dtype != fp["dtype"]:
            return f"dtype {fp['dtype']} was expected{at}, yours is {dtype}"
        if "sha256" in fp:
            same = _digest(tensor.to(torch.int64).contiguous().numpy().astype("<i8").tobytes(), salt + where) == fp["sha256"]
        else:
            if tensor.is_complex():
                tensor = torch.view_as_real(tensor)
            values = tensor.to(torch.float64).flatten().numpy()
            if not np.isfinite(values).all():
                return f"your values{at} contain nan or inf"
            sums = _weights(values.size) @ values
            allowed = fp["atol"] * np.array(fp["weight"]) + fp["rtol"] * np.array(fp["scale"])
            same = bool(np.all(np.abs(sums - np.array(fp["sums"])) <= allowed * (1 + 1e-9) + 1e-12))
        return None if same else f"the shape and dtype{at} are right, but the values are not the book's"
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"a number was expected{at}, not {_type_name(value)}"
        return None if compare(fp["value"], torch.tensor([float(value)], dtype=torch.float64), where, salt) is None \
            else f"the number{at} is not the book's"
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            return f"a whole number was expected{at}, not {_type_name(value)}"
        return None if _digest(str(value).encode(), salt + where) == fp["sha256"] else f"the number{at} is not the book's"
    if kind == "exact":
        return None if _digest(repr(value).encode(), salt + where) == fp["sha256"] else f"the value{at} is not the book's answer"
    if kind == "str":
        if not isinstance(value, str):
            return f"a string was expected{at}, not {_type_name(value)}"
        return None if _digest(value.strip().encode(), salt + where) == fp["sha256"] else f"the text{at} is not the book's"
    if kind == "sequence":
        if not isinstance(value, (list, tuple, torch.Size)):
            return f"a list or tuple was expected{at}, not {_type_name(value)}"
        if len(value) != len(fp["items"]):
            return f"{len(fp['items'])} items were expected{at}, yours has {len(value)}"
        for i, (item_fp, item) in enumerate(zip(fp["items"], value, strict=True)):
            problem = compare(item_fp, item, f"{where}[{i}]", salt)
            if problem:
                return problem
        return None
    if kind == "dict":
        if not isinstance(value, dict):
            return f"a dict was expected{at}, not {_type_name(value)}"
        keys = {str(k): v for k, v in value.items()}
        missing, extra = set(fp["items"]) - set(keys), set(keys) - set(fp["items"])
        if missing or extra:
            return (f"the keys{at} differ: " + "; ".join(
                part for part in (missing and f"missing {sorted(missing)}", extra and f"not expected {sorted(extra)}") if part))
        for key, item_fp in fp["items"].items():
            problem = compare(item_fp, keys[key], f"{where}[{key!r}]", salt)
            if problem:
                return problem
        return None
    raise ValueError(f"unknown fingerprint kind {kind!r}")


class Checker:
    """check(exercise, answer): says whether ANSWER matches the book's answer to EXERCISE.

    CHECKS maps each exercise (such as "tensors-1") to its fingerprint and its known wrong
    answers with their hints, as `record` emitted them when the book was built."""

    def __init__(self, checks: dict):
        self.checks = checks

    def __call__(self, exercise: str, answer: Any) -> None:
        """Print whether ANSWER matches the book's answer to EXERCISE, and a hint if not."""
        if exercise not in self.checks:
            raise KeyError(f"no check named {exercise!r}; this notebook has {sorted(self.checks)}")
        verdict = self.verdict(exercise, answer)
        print(f"Exercise {exercise}: " + ("✓ your answer matches the book's." if verdict is None else f"✗ {verdict}"))

    def verdict(self, exercise: str, answer: Any) -> str | None:
        """None when ANSWER matches, else the hint to show."""
        check = self.checks[exercise]
        problem = compare(check["answer"], answer, salt=exercise)
        if problem is None:
            return None
        for wrong in check.get("wrong", []):
            try:
                if compare(wrong["answer"], answer, salt=exercise) is None:
                    return wrong["hint"]
            except Exception:  # a wrong answer of another kind: not this one
                continue
        return problem + "."


def _namespace() -> dict:
    """The notebook's variables (record() is called from a cell)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython else None
    return shell.user_ns if shell is not None else sys._getframe(2).f_globals


def record(exercise: str, answer: str, *, start: str, wrong: dict[str, str],
           atol: float = 1e-5, rtol: float = 1e-4) -> None:
    """Fingerprint the book's answer to EXERCISE for the readers' `check` (a hidden cell, after
    the solution).

    ANSWER is the expression the reader's cell passes to check(), evaluated in the notebook's
    variables; START is the code the reader's cell starts with (it must give a wrong answer);
    WRONG maps expressions giving plausible wrong answers (evaluated in the notebook's
    variables) to the hint to show for each. Raises AssertionError, failing the build, unless
    the solution passes and the start and every wrong answer fail with their own hint."""
    ns = _namespace()
    value = eval(answer, ns)  # noqa: S307 - the book's own code
    start_ns = dict(ns)
    exec(start, start_ns)  # noqa: S102 - the book's own code
    start_value = eval(answer, start_ns)  # noqa: S307
    checks = {exercise: {"answer": fingerprint(value, atol, rtol, exercise),
                         "wrong": [{"answer": fingerprint(eval(code, ns), atol, rtol, exercise), "hint": hint}  # noqa: S307
                                   for code, hint in wrong.items()]}}
    checker = Checker(checks)
    assert checker.verdict(exercise, value) is None, f"{exercise}: the solution fails its own check"
    assert checker.verdict(exercise, start_value) is not None, f"{exercise}: the starting point passes the check"
    assert wrong, f"{exercise}: record at least one plausible wrong answer"
    for code, hint in wrong.items():
        got = checker.verdict(exercise, eval(code, ns))  # noqa: S307
        assert got == hint, f"{exercise}: the wrong answer {code} gives {got!r}, not its hint {hint!r}"
    # The values themselves go into the executed notebook too (never into the readers' notebooks),
    # so that the tests can check the published checks against them in a fresh process.
    buffer = io.BytesIO()
    torch.save({"answer": value, "start": start_value, "wrong": [eval(code, ns) for code in wrong]}, buffer)  # noqa: S307
    payload = {"exercise": exercise, "answer_expression": answer, "start": start, **checks[exercise],
               "values": base64.b64encode(buffer.getvalue()).decode()}
    from IPython.display import display

    display({MIME: json.loads(json.dumps(payload))}, raw=True)


def _selftest() -> None:  # python primer_check.py: a quick sanity check of this module
    x = torch.linspace(0, 1, 10)
    fp = fingerprint(x)
    assert compare(fp, x + 5e-6) is None and compare(fp, x + 1e-3) is not None
    assert compare(fp, x.double()) == "dtype float32 was expected, yours is float64"
    assert compare(fingerprint({"a": 1, "b": [True, 2.5]}), {"a": 1, "b": [True, 2.5]}) is None
    salted = fingerprint({"a": True, "b": [True, None]}, salt="ex-1")
    assert salted["items"]["a"]["sha256"] != salted["items"]["b"]["items"][0]["sha256"]  # the same value
    assert compare(salted, {"a": True, "b": [True, None]}, salt="ex-1") is None
    assert compare(salted, {"a": True, "b": [True, None]}, salt="ex-2") is not None
    assert compare(salted, {"a": None, "b": [True, None]}, salt="ex-1").startswith("no answer yet")
    print("primer_check: OK")


if __name__ == "__main__":
    _selftest()
