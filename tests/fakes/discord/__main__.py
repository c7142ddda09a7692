"""``python -m tests.fakes.discord``: run the fake Discord standalone for manual sandbox runs."""

from tests.fakes.discord.server import main

main()
