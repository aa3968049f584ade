"""FakeBinance: the fake exchange served by uvicorn in a thread, and its controls for tests."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterable, Mapping
from decimal import Decimal
from types import TracebackType
from typing import Self

import uvicorn

from tests.fakes.binance.api import BinanceApi, RecordedRequest
from tests.fakes.binance.candles import CandleRow
from tests.fakes.binance.exchange import ExchangeState
from tests.fakes.binance.faults import Fault, FaultKind
from tests.fakes.binance.model import (
    DEFAULT_BALANCES,
    DEFAULT_MARKETS,
    Balance,
    Market,
    Number,
    Order,
    Trade,
)

# Shaped as Binance's are (64 letters and digits) and plainly not real.
DEFAULT_API_KEY = "FakeBinanceApiKey".ljust(64, "0")
DEFAULT_SECRET = "FakeBinanceSecret".ljust(64, "0")
_START_TIMEOUT = 10.0


class _PromptServer(uvicorn.Server):
    """uvicorn's server, stopping in milliseconds rather than in its graceful 0.1 to 0.3 s.

    Tests start and stop a fake for every test, so the grace adds up. Requests in flight still
    finish (a paused one ends as soon as the stop is signalled); idle connections are closed.
    """

    async def main_loop(self) -> None:
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864_000
            await asyncio.sleep(0.01)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        if self.server_state.tasks:
            await asyncio.wait(set(self.server_state.tasks), timeout=_START_TIMEOUT)


class FakeBinance:
    """A fake Binance spot exchange on 127.0.0.1 that CCXT's binance client trades against.

    ``start()`` serves it on a free port, ``stop()`` ends the server and keeps the state, and
    a later ``start()`` serves the same state on the same port (so a client built before the
    restart still reaches it). A context manager starts and stops it. Every control below may
    be called while it runs or while it is stopped. Symbols may be ``BTCUSDT`` or ``BTC/USDT``.
    """

    def __init__(
        self,
        *,
        api_key: str = DEFAULT_API_KEY,
        secret: str = DEFAULT_SECRET,
        markets: Iterable[Market] = DEFAULT_MARKETS,
        balances: Mapping[str, Number] = DEFAULT_BALANCES,
    ) -> None:
        self.api_key = api_key
        self.secret = secret
        self._state = ExchangeState(markets, balances)
        self._stopping = threading.Event()
        self._api = BinanceApi(
            self._state,
            api_key=api_key,
            secret=secret,
            close_connection=self._close_connection,
            stopping=self._stopping,
        )
        self._lifecycle = threading.Lock()
        self._port = 0
        self._server: _PromptServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``; known from the first ``start()`` on."""
        if not self._port:
            raise RuntimeError("FakeBinance has no address until it is started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> Self:
        with self._lifecycle:
            if self._thread is not None:
                raise RuntimeError("FakeBinance is already running")
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind(("127.0.0.1", self._port))  # 0 the first time, then the same again
                sock.listen(128)
            except OSError:
                sock.close()
                raise
            self._port = sock.getsockname()[1]
            self._stopping.clear()
            config = uvicorn.Config(
                self._api.app,
                lifespan="off",
                log_config=None,
                access_log=False,
                timeout_keep_alive=60,  # no idle connection closed under a client mid-test
            )
            server = _PromptServer(config)
            thread = threading.Thread(
                target=server.run,
                kwargs={"sockets": [sock]},
                name=f"fake-binance-{self._port}",
                daemon=True,
            )
            thread.start()
            deadline = time.monotonic() + _START_TIMEOUT
            while not server.started:
                if not thread.is_alive() or time.monotonic() > deadline:
                    server.should_exit = True
                    sock.close()
                    raise RuntimeError("FakeBinance's server did not start")
                time.sleep(0.005)
            self._server, self._thread = server, thread
            return self

    def stop(self) -> None:
        """Stops serving (a pending timeout fault ends at once); the state stays."""
        with self._lifecycle:
            server, thread = self._server, self._thread
            if server is None or thread is None:
                return
            self._stopping.set()
            server.should_exit = True
            thread.join(_START_TIMEOUT)
            if thread.is_alive():
                server.force_exit = True
                thread.join(_START_TIMEOUT)
            self._server = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.url if self._port else "never started"
        return f"FakeBinance({where}, {'running' if self.running else 'stopped'})"

    def _close_connection(self, client: tuple[str, int]) -> bool:
        # Runs on the server's loop. uvicorn keeps its connections on server_state; closing the
        # transport is the one way an ASGI app can hang up without answering.
        server = self._server
        if server is None:
            return False
        for connection in list(server.server_state.connections):
            if getattr(connection, "client", None) == client:
                connection.transport.close()
                return True
        return False

    # -- market ----------------------------------------------------------------------------------

    @property
    def markets(self) -> list[Market]:
        return self._state.markets

    def price(self, symbol: str) -> Decimal:
        return self._state.price(symbol)

    def set_price(self, symbol: str, price: Number) -> list[Trade]:
        """Sets the last price; fills, at their limit, the resting orders it reaches."""
        return self._state.set_price(symbol, price)

    def set_candles(
        self,
        symbol: str,
        candles: Iterable[CandleRow],
        interval: str = "1m",
    ) -> None:
        """Candles for klines, as ``Candle`` or ``(open_time_ms, open, high, low, close, volume)``.

        Without them, klines are flat candles at the last price up to now.
        """
        self._state.set_candles(symbol, candles, interval)

    # -- account ---------------------------------------------------------------------------------

    def balance(self, asset: str) -> Balance:
        return self._state.balance(asset)

    def set_balance(self, asset: str, free: Number) -> None:
        """Sets the free amount of an asset (what is locked for open orders stays locked)."""
        self._state.set_balance(asset, free)

    @property
    def orders(self) -> list[Order]:
        """Copies of every order, oldest first."""
        return self._state.orders()

    def order(self, ref: int | str) -> Order:
        """An order by order id (int, or its digits as CCXT gives them) or by client order id."""
        return self._state.order(ref)

    @property
    def trades(self) -> list[Trade]:
        return self._state.trades()

    def fill(self, ref: int | str, amount: Number | None = None) -> Trade:
        """Fills an open order by hand at its limit price: ``amount`` of it, or all that is left."""
        return self._state.fill(ref, amount)

    # -- traffic and faults ----------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request that reached the server, oldest first."""
        return self._api.requests

    def requests_to(self, method: str, path: str) -> list[RecordedRequest]:
        """Those of ``requests`` to one endpoint, e.g. ``("POST", "/api/v3/order")``."""
        return [r for r in self._api.requests if r.method == method.upper() and r.path == path]

    def clear_requests(self) -> None:
        self._api.clear_requests()

    def rate_limit(
        self,
        n: int = 1,
        *,
        retry_after: int = 1,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """The next ``n`` matching requests get HTTP 429, ``Retry-After`` and code -1003."""
        self._arm(Fault(FaultKind.RATE_LIMIT, n, method, path, retry_after=retry_after))

    def server_error(
        self, n: int = 1, *, status: int = 503, method: str | None = None, path: str | None = None
    ) -> None:
        """The next ``n`` matching requests get an HTML error page with ``status``, not executed."""
        self._arm(Fault(FaultKind.SERVER_ERROR, n, method, path, status=status))

    def timeout(
        self,
        n: int = 1,
        *,
        executed: bool = False,
        seconds: float = 30.0,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """The next ``n`` matching requests are answered only after ``seconds``.

        Longer than the client's timeout, the client gives up. With ``executed`` the request
        takes effect before the wait (an order is placed, the answer comes too late); without,
        it never does, and the late answer is Binance's -1007 "execution status unknown".
        """
        fault = Fault(FaultKind.TIMEOUT, n, method, path, seconds=seconds, executed=executed)
        self._arm(fault)

    def lose_answer(
        self,
        n: int = 1,
        *,
        status: int | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """The next ``n`` matching requests take effect, then their answer is lost.

        By default the connection is closed without a response; with ``status`` an HTML error
        page with that status is sent instead.
        """
        self._arm(Fault(FaultKind.LOSE_ANSWER, n, method, path, status=status))

    def clear_faults(self) -> None:
        self._api.faults.clear()

    @property
    def armed_faults(self) -> list[Fault]:
        return self._api.faults.armed

    def _arm(self, fault: Fault) -> None:
        if fault.method is not None:
            fault.method = fault.method.upper()
        self._api.faults.arm(fault)
