"""A one-line progress bar for the load's phases."""

import time

from django.core.management.base import OutputWrapper


class Progress:
    """A one-line progress bar on stdout, redrawn in place with \\r (plain text, no library)."""

    def __init__(self, out: OutputWrapper, label: str, total: int, width: int = 30) -> None:
        self.out, self.label, self.total, self.width = out, label, max(total, 1), width
        self.started = self.shown = time.monotonic()
        self.done = self.drawn = 0

    def advance(self, count: int) -> None:
        self.done += count
        now = time.monotonic()
        if now - self.shown >= 0.2 or self.done >= self.total:
            self.shown = now
            self.draw(now)

    def draw(self, now: float) -> None:
        self.drawn = self.done
        share = min(self.done / self.total, 1)
        filled = int(share * self.width)
        bar = "#" * filled + "-" * (self.width - filled)
        self.out.write(
            f"\r{self.label:<14} [{bar}] {share:4.0%} {self.done:>11,}/{self.total:,} "
            f"{now - self.started:6.1f} s",
            ending="",
        )
        self.out.flush()

    def finish(self) -> None:
        if self.drawn != self.done or not self.done:
            self.draw(time.monotonic())
        self.out.write("")
