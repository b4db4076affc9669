"""Page walks are bounded: a server that always says ``has_more`` is followed a fixed number of pages, never for ever."""

from __future__ import annotations

import itertools
import json
import warnings

import pytest

import orqmagic
from orqmagic import NotFoundError, OrqMagicError
from orqmagic.clients import OrqClient, RetryPolicy
from orqmagic.clients.orq import HINT_PAGES, MAX_PAGES
from tests.rogue import Reply, rogue_server

ONE_TRY = RetryPolicy(attempts=1)


@pytest.fixture(scope="module")
def rogue():
    with rogue_server() as server:
        yield server


def json_reply(body, status: int = 200) -> Reply:
    return Reply([json.dumps(body).encode()], status=status, headers={"content-type": "application/json"})


def endless(fresh_cursors: bool):
    """Deployments pages that never end: each page's cursor new, or the same page over and over."""
    counter = itertools.count()

    def reply(received) -> Reply:
        if received.target.split("?")[0].endswith(("/invoke", "/stream")):
            return json_reply({"message": "deployment not found"}, status=404)
        n = next(counter) if fresh_cursors else 0
        return json_reply({"object": "list", "has_more": True,
                           "data": [{"id": f"dep_{n}", "key": f"support-bot-{n}"}]})
    return reply


def listings(rogue, url_token: str) -> int:
    return sum(1 for r in rogue.received if r.target.startswith(f"/r/{url_token}/v2/deployments?"))


def test_a_404_hint_follows_at_most_a_few_pages(rogue):
    """Before: the "did you mean" lookup followed has_more for ever (27,017 pages in 20 s, never returned)."""
    url = rogue.url(endless(fresh_cursors=True))
    client = OrqClient(base_url=url, api_key="k", retry=ONE_TRY)
    with pytest.raises(NotFoundError) as info:
        orqmagic.invoke("support-bot", "hi", orq=client, display=False)
    assert "Did you mean 'support-bot-" in str(info.value)
    assert listings(rogue, url.rsplit("/", 1)[1]) == HINT_PAGES


def test_a_repeated_cursor_stops_the_walk_at_once(rogue):
    url = rogue.url(endless(fresh_cursors=False))
    client = OrqClient(base_url=url, api_key="k", retry=ONE_TRY)
    with pytest.raises(OrqMagicError, match="go round in a loop") as info:
        client.list_deployments()
    assert "\n" not in str(info.value)
    assert listings(rogue, url.rsplit("/", 1)[1]) == 2
    with pytest.raises(NotFoundError):  # the hint gives up quietly: the 404 itself is what matters
        orqmagic.invoke("support-bot", "hi", orq=client, display=False)
    assert listings(rogue, url.rsplit("/", 1)[1]) == 4


def test_a_long_listing_stops_at_the_cap_with_one_warning(rogue):
    url = rogue.url(endless(fresh_cursors=True))
    client = OrqClient(base_url=url, api_key="k", retry=ONE_TRY)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        items = client.list_deployments(max_pages=25)
    assert len(items) == 25 and listings(rogue, url.rsplit("/", 1)[1]) == 25
    assert len(caught) == 1 and "after 25 pages" in str(caught[0].message)
    assert MAX_PAGES >= 100  # the default reaches thousands of deployments


def test_the_async_walk_is_bounded_too(rogue):
    import asyncio

    url = rogue.url(endless(fresh_cursors=True))

    async def keys() -> list[str]:
        async with orqmagic.AsyncOrqClient(base_url=url, api_key="k", retry=ONE_TRY) as client:
            return await client.deployment_keys()

    assert len(asyncio.run(keys())) == HINT_PAGES
    assert listings(rogue, url.rsplit("/", 1)[1]) == HINT_PAGES


@pytest.mark.parametrize("page", [[1], {"data": None, "has_more": True}, {"data": [1, 2]}, {"data": "x"}, "text"])
def test_pages_of_the_wrong_shape_are_one_typed_line(rogue, page):
    client = OrqClient(base_url=rogue.url(json_reply(page)), api_key="k", retry=ONE_TRY)
    with pytest.raises(OrqMagicError, match="unexpected shape"):
        client.list_deployments()
