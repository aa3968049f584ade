"""Where orders meet prices: the Venue interface, the one matching engine, the paper venue."""
