"""Signals: alerts worth sending beyond follows and whales, and what a card says about them.

Fresh wallets, smart money and consensus (``service``, ``consensus``), market categories
(``categories``), server-local trader labels (``labels``), the facts learnt once from Polymarket
(``learnt``, ``lookups``), and a card's context (``context``, ``positions``). No Discord here.
Import from the modules: this package imports nothing, so storage can import its models.
"""
