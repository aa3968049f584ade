"""The paper venue: simulated accounts (the ledger) traded through the matching engine."""
