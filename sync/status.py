"""What a screen shows about sync: online or not, how much is waiting, when it last worked."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SyncStatus:
    online: bool = False
    pending: int = 0
    last_success_at: str | None = None   # UTC timestamp of the last push or pull that worked
    last_error: str | None = None        # one line a person can read
    quarantined: bool = False            # central refused this device: sync stopped, call support

    def banner(self) -> str:
        """The line an app puts at the top of its screen."""
        if self.quarantined:
            return "Sync stopped: central has quarantined this device. Call support."
        if not self.online:
            waiting = f"; {self.pending} waiting to send" if self.pending else ""
            return f"Offline: working from the last known state{waiting}"
        return f"Online; {self.pending} waiting to send" if self.pending else "Online"
