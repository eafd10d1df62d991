"""The API's documentation pages (/docs, /redoc) load nothing from another site: mmnet's users often work offline."""

import importlib.util
import re
from urllib.parse import urljoin

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
pytest.importorskip("av")

from mmnet.serve import create_app  # noqa: E402
from tests.serve_helpers import local_client  # noqa: E402


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_their_scripts_from_this_server(predictor, page):
    if importlib.util.find_spec("fastapi_offline") is None:
        pytest.skip("fastapi-offline (the serve extra) is not installed")
    with local_client(create_app(predictor)) as c:
        r = c.get(page)
        assert r.status_code == 200 and "text/html" in r.headers["content-type"]
        assert "cdn." not in r.text and "http" not in r.text and "fonts.googleapis" not in r.text
        urls = re.findall(r'(?:src|href|spec-url|url:)\s*=?\s*["\']([^"\']+)["\']', r.text)
        assert any(u.endswith(".js") for u in urls) and "openapi.json" in urls, urls
        for url in urls:
            # relative to the page: behind a proxy serving the app under a sub-path (/mmnet/docs) they stay in it
            assert not url.startswith("/"), url
            assert c.get(urljoin(f"{c.base_url}{page}", url)).status_code == 200, url


def test_redoc_requests_nothing_from_another_site(predictor):
    if importlib.util.find_spec("fastapi_offline") is None:
        pytest.skip("fastapi-offline (the serve extra) is not installed")
    with local_client(create_app(predictor)) as c:
        page = c.get("/redoc").text
        scripts = re.findall(r'<script[^>]+src=["\']([^"\']+)["\']', page)
        assert scripts and not any(url.startswith("/") for url in scripts), scripts
        for url in scripts:
            script = c.get(urljoin(f"{c.base_url}/redoc", url))
            assert script.status_code == 200 and "javascript" in script.headers["content-type"], url
            # ReDoc's menu logo came from cdn.redoc.ly (blocked by the page's CSP: a console error, a broken image)
            assert "cdn.redoc.ly" not in script.text, url
            assert re.findall(r'src:\s*"https?://[^"]*"', script.text) == [], url


def test_without_the_assets_docs_says_how_to_install_them(predictor, monkeypatch):
    import mmnet.serve.docs as serve_docs

    monkeypatch.setattr(serve_docs, "docs_assets", lambda: None)
    with local_client(create_app(predictor)) as c:
        for page in ("/docs", "/redoc"):
            r = c.get(page)
            assert r.status_code == 501 and "text/html" in r.headers["content-type"]
            assert 'pip install -e ".[serve]"' in r.text.replace("&quot;", '"') and "fastapi-offline" in r.text
            assert "cdn." not in r.text and "<script" not in r.text
            assert re.findall(r'href=["\'](/[^"\']*)', r.text) == []  # relative, as the pages with the assets
        assert c.get("/openapi.json").status_code == 200


def test_the_docs_pages_link_their_scripts_licences(predictor):
    if importlib.util.find_spec("fastapi_offline") is None:
        pytest.skip("fastapi-offline (the serve extra) is not installed")
    from mmnet.serve import ServeSettings

    # like the pages, it holds no data: a server with a token shows it without
    with local_client(create_app(predictor, settings=ServeSettings(token="t" * 20))) as c:
        for page in ("/docs", "/redoc"):
            links = re.findall(r'<a href=["\']([^"\']+)["\']', c.get(page).text)
            assert [urljoin(f"{c.base_url}{page}", u) for u in links] == [f"{c.base_url}/docs/licences"], page
        answer = c.get("/docs/licences")
    assert answer.status_code == 200 and "text/html" in answer.headers["content-type"]
    assert "default-src 'self'" in answer.headers["content-security-policy"]
    text = " ".join(answer.text.split())
    for said in ("Swagger UI", "Apache-2.0", "https://github.com/swagger-api/swagger-ui", "ReDoc", "MIT",
                 "https://github.com/Redocly/redoc", "swagger-ui-bundle.js.LICENSE.txt"):
        assert said in text, said
    assert "## The other dependencies" not in text  # that section only


def test_the_licences_page_reads_the_installed_notices(predictor, monkeypatch):
    import mmnet.serve.docs as serve_docs

    class Installed:  # the wheel's metadata: THIRD-PARTY-NOTICES.md is in its dist-info/licenses/
        @staticmethod
        def read_text(name):
            return {"licenses/THIRD-PARTY-NOTICES.md": "# N\n## Scripts the web page serves\nthe <installed> one\n"
                                                       "## Next\nnot this"}.get(name)

    monkeypatch.setattr(serve_docs.importlib.metadata, "distribution", lambda name: Installed())
    with local_client(create_app(predictor)) as c:
        page = c.get("/docs/licences").text
        assert "the &lt;installed&gt; one" in page and "not this" not in page
        monkeypatch.setattr(serve_docs, "_notices_text", lambda: None)  # an installation without its notices
        page = c.get("/docs/licences").text
        assert "Apache-2.0" in page and "MIT licence" in page and "THIRD-PARTY-NOTICES.md" in page
