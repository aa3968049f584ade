"""Use-cases shared by every front door (native API, dialects, CLI).

A service writes in the caller's session and leaves the commit to the front door (the API
commits a request's transaction before it answers, or rolls it back), except where its writes
must be committed before something outside the transaction acts on them. Those services commit
themselves: starting, pausing, stopping, changing and deleting bots (``bots``, ``channels``:
the bot engine reads in its own session), a partner signal's delivery before it is fanned out
(``channels``: acknowledged once, never lost), and linking or deleting an exchange account
(``exchange_accounts``, ``live``: the venue is told after the commit).
"""
