"""Paper copy-trading: a user copies a trader, each of the trader's trades becomes a paper order
filled against the real order book, and /portfolio shows the result. No Discord here.

The parts live in their own modules and are imported from there: ``models`` (domain types),
``lifecycle`` (the transition table), ``fills`` (the fill model), ``copies`` (copy configs),
``writer`` (trade -> orders), ``sync`` (the sync pass), ``settlement`` (resolved and vanished
markets), ``portfolio`` (the read model and snapshots) and ``service`` (the façade). This file
imports nothing, so storage can use the models without loading the service.
"""
