"""Paper copy-trading (being split into modules; see the following commits)."""

from bot.copytrading.sync import OrderService, PortfolioView

__all__ = ("OrderService", "PortfolioView")
