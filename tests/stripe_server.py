"""localstripe, started by the tests on a free loopback port, one instance per test run.

localstripe (PyPI, GPL: a test tool, never vendored) speaks Stripe's API for customers, payment
methods with Stripe's test card numbers, PaymentIntents (confirm, cancel, 3-D Secure) and
refunds. The launcher adapts it to what our Stripe provider sends, without touching our code:
- state stays in memory (it otherwise pickles to /tmp/localstripe.pickle, which every process on
  the machine would share);
- PaymentIntents accept `transfer_group` (Stripe does; localstripe answers 400);
- `POST /v1/ephemeral_keys`, which localstripe lacks, answers like Stripe;
- Connect (accounts, account links, transfers, payouts), which it lacks too, is answered by our
  own `tests/connect_server.py`, installed in front of its routes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from tests.local_servers import launched

LAUNCHER = r"""
import secrets, sys, time
from aiohttp import web
from localstripe import resources
from localstripe.server import app

resources.Store.dump_to_disk = lambda self: None
resources.Store.try_load_from_disk = lambda self: None
_init = resources.PaymentIntent.__init__

def _init_with_group(self, *args, transfer_group=None, **kwargs):
    _init(self, *args, **kwargs)
    self.transfer_group = transfer_group

resources.PaymentIntent.__init__ = _init_with_group

async def ephemeral_keys(request):
    form = await request.post()
    customer = form.get("customer")
    if not customer:
        return web.json_response({"error": {"message": "customer required"}}, status=400)
    now = int(time.time())
    return web.json_response({
        "id": "ephkey_" + secrets.token_hex(8), "object": "ephemeral_key",
        "associated_objects": [{"id": customer, "type": "customer"}],
        "created": now, "expires": now + 3600, "livemode": False,
        "secret": "ek_test_" + secrets.token_hex(16),
    })

app.router.add_post("/v1/ephemeral_keys", ephemeral_keys)
from tests.connect_server import install  # Connect (accounts, transfers, payouts): ours
install(app)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
"""


@contextlib.contextmanager
def localstripe() -> Iterator[str]:
    """Start localstripe; its base URL until the block ends."""
    with launched(LAUNCHER, "/v1/customers", "localstripe") as url:
        yield url
