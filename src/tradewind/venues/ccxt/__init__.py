"""Live exchanges through CCXT: the venue (``venue``), the client ids the exchange sees
(``client_ids``), retries and error translation (``calls``), fills from polling (``fills``),
its rows (``store``) and live prices for paper accounts (``prices``)."""
