"""Short links (POST /api/setups, GET /api/setups/ID, /s/ID): kept, read back, opened, limited, and gone after
they expire, with a plain 404 page for an id that names nothing."""

from __future__ import annotations

import re
import time

import pytest
from server_helpers import TestClient, make_settings

from nnplay.server.main import create_app

LINK = "#activation=tanh&dataset=custom&points=1AAgCfk8-Aa&networkShape=4,2&seed=7"


@pytest.fixture
def client(tmp_path):
    with TestClient(create_app(make_settings(max_setup_bytes=2048, max_setups=3, data_dir=tmp_path))) as c:
        yield c


def test_a_setup_is_kept_under_a_short_id_and_opens_on_both_pages(client):
    made = client.post("/api/setups", json={"link": LINK})
    assert made.status_code == 201
    setup = made.json()
    assert re.fullmatch(r"[0-9a-hjkmnp-tv-z]{5}-[0-9a-hjkmnp-tv-z]{5}", setup["id"]), setup["id"]
    assert setup["url"] == f"/s/{setup['id']}" and setup["embed_url"] == f"/s/{setup['id']}/embed"
    assert client.get(f"/api/setups/{setup['id']}").json() == setup
    opened = client.get(setup["url"], follow_redirects=False)
    assert (opened.status_code, opened.headers["location"]) == (303, "/" + LINK)
    embedded = client.get(setup["embed_url"], follow_redirects=False)
    assert (embedded.status_code, embedded.headers["location"]) == (303, "/embed" + LINK)


def test_an_id_read_aloud_is_read_as_crockford_meant(client):
    setup = client.post("/api/setups", json={"link": LINK}).json()
    heard = setup["id"].replace("-", "").upper().replace("0", "O").replace("1", "L")
    assert client.get(f"/api/setups/{heard}").json()["link"] == LINK


def test_the_same_link_keeps_its_id_and_another_gets_a_new_one(client):
    first = client.post("/api/setups", json={"link": LINK}).json()["id"]
    assert client.post("/api/setups", json={"link": LINK}).json()["id"] == first
    assert client.post("/api/setups", json={"link": LINK + "&noise=10"}).json()["id"] != first


@pytest.mark.parametrize("link, says", [
    ("#" + "a" * 2048, "link: at most 2048 bytes, got 2049"),
    ("dataset=custom", "link: must be a URL hash"),
    ("#a=b\r\nSet-Cookie: x=1", "link: must be a URL hash"),
    ("#a=<script>", "link: must be a URL hash"),
], ids=["too-long", "no-hash", "header-injection", "markup"])
def test_a_link_too_long_or_not_a_url_hash_is_refused_naming_the_field(client, link, says):
    answer = client.post("/api/setups", json={"link": link})
    assert answer.status_code == 422
    [problem] = answer.json()["detail"]
    assert problem["field"] == "link" and problem["msg"].startswith(says), problem
    assert problem["allowed"]
    assert client.get("/api/options").json()["server_limits"]["max_setup_bytes"] == 2048


def test_a_full_store_refuses_a_new_link_and_still_answers_a_kept_one(client):
    ids = [client.post("/api/setups", json={"link": f"#seed={n}"}).json()["id"] for n in range(3)]
    full = client.post("/api/setups", json={"link": "#seed=99"})
    assert full.status_code == 507 and "at most 3 short links" in full.json()["detail"]
    assert client.post("/api/setups", json={"link": "#seed=1"}).json()["id"] == ids[1]


@pytest.mark.parametrize("path", ["/s/zzzzz-zzzzz", "/s/not-an-id", "/s/zzzzz-zzzzz/embed"])
def test_an_unknown_short_link_is_a_plain_404_page_that_says_so(client, path):
    answer = client.get(path, follow_redirects=False)
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")
    assert "This short link does not exist" in answer.text and "kept for 90 days" in answer.text
    assert "<script" not in answer.text
    api = client.get("/api/setups/zzzzz-zzzzz")
    assert api.status_code == 404 and "no setup is stored under 'zzzzz-zzzzz'" in api.json()["detail"]


def test_the_id_is_escaped_in_the_404_page(client):
    answer = client.get("/s/%3Cb%3Ebold%3C%5Cb%3E")
    assert answer.status_code == 404 and "&lt;b&gt;bold" in answer.text and "<b>bold" not in answer.text


def test_a_setup_expires_store_ttl_after_its_last_use_and_opening_it_is_a_use(client):
    store = client.app.state.nnplay.store
    setup = client.post("/api/setups", json={"link": LINK}).json()
    ttl = store.ttl
    store.expire(now=time.time() + ttl - 60)
    assert client.get(setup["url"], follow_redirects=False).status_code == 303, "kept within the ttl"
    store.expire(now=time.time() + ttl + 60)
    assert client.get(setup["url"]).status_code == 404
    assert client.get(f"/api/setups/{setup['id']}").status_code == 404


def test_the_api_document_gives_the_link_size_limit(client):
    schema = client.get("/openapi.json").json()["components"]["schemas"]["SetupRequest"]
    assert schema["properties"]["link"]["maxLength"] == 2048


def test_the_embed_form_takes_the_embeds_own_keys_from_its_query(client):
    setup = client.post("/api/setups", json={"link": LINK}).json()
    answer = client.get(setup["embed_url"] + "?controls=play,reset&autoplay=true", follow_redirects=False)
    assert answer.headers["location"] == "/embed" + LINK + "&controls=play,reset&autoplay=true"
    odd = client.get(setup["embed_url"] + "?a=%0d%0aX:%20y", follow_redirects=False)
    assert odd.headers["location"] == "/embed" + LINK + "&a=%0d%0aX:%20y", "kept %-encoded, never decoded"
