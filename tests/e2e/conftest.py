"""The explorer's real uvicorn server over each test module's own ``session`` fixture.

The server requires its token, as ``aekit explore`` does. Every browser context a test
module opens while the server runs first loads the tokened URL, as a user does with the
printed one: that response sets the page's HttpOnly cookie, so ``page.goto(server.url)``
and the page's own requests and WebSocket carry the token.
"""

from __future__ import annotations

import pytest

from aekit.explorer.server import ServerThread


@pytest.fixture(scope="module")
def server(session, browser):
    with ServerThread(session) as running:
        new_context, new_page = browser.new_context, browser.new_page

        def tokened(context):
            first = context.request.get(running.token_url)  # the cookie lands in the context's jar
            assert first.ok and "set-cookie" in first.headers, first.status
            return context

        def tokened_context(*args, **kwargs):
            return tokened(new_context(*args, **kwargs))

        def tokened_page(*args, **kwargs):
            page = new_page(*args, **kwargs)
            tokened(page.context)
            return page

        browser.new_context, browser.new_page = tokened_context, tokened_page
        try:
            yield running
        finally:
            del browser.new_context, browser.new_page  # back to the class's methods
