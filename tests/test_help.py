"""Help that answers: docstrings name every parameter, ``?`` usage lines match the README, the option table is complete."""

import inspect
import re
from pathlib import Path

import pytest

import orqmagic
from orqmagic.magics.core import OrqMagic

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
FUNCTIONS = [name for name in orqmagic.__all__
             if callable(getattr(orqmagic, name)) and not inspect.isclass(getattr(orqmagic, name))]


METHODS = [f"{c}.{m}" for c in ("Comparison", "InvokeResult", "Outbox")
           for m, _ in inspect.getmembers(getattr(orqmagic, c), inspect.isfunction) if not m.startswith("_")]


@pytest.mark.parametrize("name", FUNCTIONS + METHODS)
def test_every_public_function_names_its_parameters(name):
    owner, _, method = name.partition(".")
    function = getattr(getattr(orqmagic, owner), method) if method else getattr(orqmagic, name)
    doc = inspect.getdoc(function) or ""
    named = [p for p, v in inspect.signature(function).parameters.items()
             if p != "self" and v.kind not in (v.VAR_POSITIONAL, v.VAR_KEYWORD)]
    assert doc, "no docstring"
    assert [p for p in named if not re.search(rf"\b{p}\b", doc)] == []


def test_docstrings_give_allowed_values_and_defaults_where_people_need_them():
    assert all(s in inspect.getdoc(orqmagic.create_metric) for s in ("SELF_HOSTED", "PARTIAL_PROMPT", "HUMAN_EVALUATION"))
    assert all(f in inspect.getdoc(orqmagic.list_metrics) for f in ("names", "tags", "sources", "include_legacy",
                                                                     "offset", "limit", "sort"))
    doc = inspect.getdoc(orqmagic.fetch_metrics)
    assert all(m in doc for m in ("baseten_replicas_active", "baseten_inference_requests_total",
                                  "baseten_end_to_end_response_time_seconds"))  # the default metric set


def test_usage_lines_match_the_readme():
    invoke_usage = OrqMagic.invoke.__doc__.split("::")[1].strip().splitlines()[0]
    assert invoke_usage.startswith("%%invoke KEY") and "`%%invoke KEY [options]`" in README
    assert OrqMagic.metric.__doc__.split("::")[1].strip().startswith("%%metric [--dry-run]")


def test_the_readme_option_table_lists_every_invoke_option():
    parser = OrqMagic.invoke.parser
    table = README.split("| option | sends |", 1)[1].split("\n\n", 1)[0]
    missing = [a.option_strings for a in parser._actions
               if a.option_strings and "--help" not in a.option_strings
               and not any(f"`{o} " in table or f"`{o}`" in table or f"{o}`" in table for o in a.option_strings)]
    assert missing == []
