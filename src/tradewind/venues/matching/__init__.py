"""The one matching engine: how orders fill against prices, for the paper venue and the backtester.

Pure and deterministic: Decimal only (a 60-digit context, explicit rounding), no I/O, no clock
(time comes in as ``now_ms`` and path timestamps), ids from an injected ``new_id``. The same
calls in the same order produce the same events in the same order. The accounts behind it are
an ``AccountBook`` (the paper ledger), which holds funds, settles fills, knows how much a
reduce-only order may still reduce (``reducible``), and returns a ``BalanceChanged`` event for
every balance it changes.

Placing (``submit``; the caller has already checked step, minimum and tick)
  1. ``book.reserve(order, reference)`` at the limit price (limit, stop-limit), the stop price
     (stop; a trailing stop without one: its activation price, else the market), or, for a
     market order, the price it will fill at. If refused (``InsufficientFunds``,
     ``InvalidOrder``) the order is REJECTED with the reason, nothing is held, no event is
     emitted and the error is raised to the caller.
  2. A MARKET order fills at once, whole, as taker: buy at ``ask * (1 + slippage)`` rounded
     up to the tick, sell at ``bid * (1 - slippage)`` rounded down (the "market price").
  3. A LIMIT order that is marketable (buy limit >= ask, sell limit <= bid) fills at once as
     taker at the market price, never worse than its limit; otherwise it rests
     (``OrderAccepted``).
  4. A STOP or STOP_LIMIT whose trigger is already reached (buy: ask >= stop; sell: bid <=
     stop) triggers at once (``OrderTriggered``); otherwise it rests.
  A triggered STOP is a market order: it fills as taker at the market price of that moment.
  A triggered STOP_LIMIT becomes a LIMIT at ``price``: it takes if marketable, else rests.
  If a fill made at once is refused by the book, the whole submission is refused as in 1.
  ``OrderAccepted`` is emitted once, when an order first rests, followed by the balance it
  holds; an order that fills at once emits no ``OrderAccepted``.

Walking prices (``on_prices(symbol, path)``)
  ``path`` is ``(ts_ms, last)`` points; between two points the price moves linearly, so every
  level between them is touched. ``bid/ask = last -/+ half_spread`` (the instrument's unless
  given). Points older than the last quote the engine saw for the symbol (from ``submit`` or
  the previous walk) are skipped, and the walk starts at the price interpolated at that
  quote's time, so nothing fills on prices from before an order existed. The first point is
  where the walk starts: every resting order it already satisfies is processed there, in
  arrival order (a gap). Then, segment by segment, the orders the price crosses are processed
  in the order it reaches them (ties: arrival order), each at its crossing moment (the
  timestamp interpolated along the segment, rounded down):
  - a buy LIMIT fills when ask <= limit, a sell LIMIT when bid >= limit: at the limit price,
    as MAKER (also at a gap: a resting limit never fills at a better price than its own);
  - a buy STOP triggers when ask >= stop, a sell STOP when bid <= stop, then fills as TAKER at
    the market price of that moment: the stop price worsened by slippage inside a segment, or
    the first point's ask/bid (worsened by slippage) when the price gapped through it;
  - a STOP_LIMIT triggers the same way and becomes a LIMIT that may fill later in the walk.
  Orders placed by programs during the walk take part in the rest of it.
  Paper fills are whole; the code and the events represent partial fills (live venues).

Each fill: ``fee = notional * (maker_fee | taker_fee)`` in the instrument's settle (quote)
asset, exact; ``book.settle`` applies it (if it refuses, the order is CANCELLED with the
reason); then ``OrderFilled``, the book's Position*/BalanceChanged events, and whatever the
book frees with ``release`` once the order is done. Events carry snapshots of the order.

Order programs, run by the engine after a fill, in this order
  - ``oco_group``: when an order of a group fills, or a stop-limit of it triggers, the other
    open orders of the group are cancelled (reason "oco"). Cancelling one by hand does not
    cancel the others.
  - reduce-only upkeep: every reduce-only or position-bound order of the account and symbol
    is checked against ``book.reducible(order)``; one larger than its position is reduced
    (``OrderAmended``) to the position rounded down to the step, and cancelled ("position
    closed") when that is zero or under the minimum. The same check runs before any such
    order fills.
  - ``rearm``: a LIMIT on the other side at ``rearm.price`` for the filled amount, same account
    and symbol; with ``flip`` it carries ``Rearm(price=<the filled order's price, or fill
    price>, flip=True)``, so a grid level's buy and sell alternate for ever. Its client order
    id is ``<root>:r<n>`` (the chain's first client id or order id, and its generation). A
    re-armed order is post-only: if it would take liquidity on arrival it is rejected ("a
    re-armed order would cross the market"), which also keeps a mis-set grid from looping.
    It is a plain order (in hedging mode it opens its own ticket).
  - ``bracket``: a reduce-only STOP at ``stop_loss`` (role STOP_LOSS, client id ``<root>:sl``)
    and a reduce-only LIMIT at ``take_profit`` (TAKE_PROFIT, ``<root>:tp``), for the filled
    amount, bound to the fill's position, in a new OCO group.
  Programs' placements go through the same path as ``submit`` (reserve, take or rest) at the
  fill's quote, but a refusal is an ``OrderRejected`` event, not an exception.

Trailing stops (``trailing``, STOP orders only), moved at every path point
  Once activated (the bid, for a sell stop, has reached ``activation_price``; the ask, for a
  buy stop, has come down to it; at once when None) the anchor is the best price since
  (highest bid / lowest ask, kept in ``trail_anchor``), and ``stop_price = anchor * (1 -/+
  callback)`` rounded to the tick away from the price; it only tightens. On a linear path the
  extremes are at the points, so moving there is exact. A move is announced by one
  ``OrderAmended`` per order per ``on_prices`` call (at the end, or just before the stop
  triggers).

``amend`` re-reserves for the new terms (refused: unchanged, raised); an amended order that
now crosses the last quote takes at once. ``cancel`` frees the reservation. ``restore`` loads
resting orders after a restart without reserving again. Only open orders are kept.

Cost: resting orders sit per symbol in four sorted lists (buy/sell limits, buy/sell stops) of
``(price, arrival, id)``. A segment looks at one end of two lists per crossing, so a walk costs
O(points + crossings * log n) however many orders rest away from the price; adding or removing
one is a bisect plus a list shift. Trailing stops are visited at every path point.
"""

from tradewind.venues.matching.book import AccountBook, Quote
from tradewind.venues.matching.engine import MatchingEngine

__all__ = ["AccountBook", "MatchingEngine", "Quote"]
