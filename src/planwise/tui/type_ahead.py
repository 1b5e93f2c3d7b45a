"""Type-ahead: keys typed while a screen or dialog opens reach the field the user then sees
focused, in the order they were typed.

Over SSH keys arrive in bursts, and Textual hands each key to whatever has focus at the
moment the app reads it. Two things went wrong with that:

- after `+` pushed a dialog, the next keys were read before the dialog had composed its
  fields: nothing was focused, the keys went to the screen itself and were dropped;
- keys read while an earlier key was still being handled went to the widget that had
  focus then: text typed after Enter in a one-line prompt landed in the prompt that was
  closing, or as commands on the screen below it.

So the app reads keys one at a time. After handing a key to a widget it holds the next
ones until that widget and every container up to its screen has handled it (a binding it
bubbled up to has run by then). After a screen is pushed or popped it holds them until
the screen on top has mounted (its fields composed and the first one focused) and the
result callback of a dismissed dialog has run (it may open the next dialog). Held keys
are then delivered in order. A hold never outlasts HOLD_LIMIT seconds, so a widget that
never settles cannot swallow the keyboard.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any

from textual import events
from textual.app import App, ScreenStackError
from textual.dom import DOMNode
from textual.message import Message
from textual.screen import Screen

HOLD_LIMIT = 1.0  # seconds; far longer than any screen here takes to mount


class TypeAheadRelease(Message):
    """Held keys may go on when `hold` is still the current hold and `chain` is still
    quiet once the app reads this (a key that bubbled up to the app ran its binding just
    before: Enter in a field posts Submitted to the field). `rounds`: how many more times
    it goes to the back of the app's queue first, so that what that binding asked of the
    app runs before the next key (Widget.focus() moves the focus in a callback)."""

    def __init__(self, hold: int, chain: list[DOMNode], rounds: int = 1) -> None:
        super().__init__()
        self.hold = hold
        self.chain = chain
        self.rounds = rounds


class TypeAheadApp(App[None]):
    """An App that delivers keys one at a time, holding them while a screen changes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._held: deque[events.Key] = deque()
        self._hold = 0            # the current hold's number; 0 when keys flow
        self._holds_made = 0
        self._hold_since = 0.0
        self._watchdog_set = False

    @property
    def typing_ahead(self) -> bool:
        """Are keys held (or is the last one still being handled)? Tests that send keys in
        bursts wait for this to be False before they look (`keys_settled`)."""
        return bool(self._hold or self._held)

    async def keys_settled(self, timeout: float = 5.0) -> None:
        """Wait until every key sent so far has been delivered and handled."""
        end = time.monotonic() + timeout
        while self.typing_ahead and time.monotonic() < end:
            await asyncio.sleep(0.005)

    # -- keys in ---------------------------------------------------------------------------
    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and not event.is_forwarded:
            if self._hold or self._held:
                self._held.append(event)
                return
            await self._deliver(event)
            return
        await super().on_event(event)

    async def _deliver(self, key: events.Key) -> None:
        if not self.screen_stack:
            return                    # the app is closing: no screen to type into
        target: DOMNode = self.focused or self.screen
        await super().on_event(key)   # Textual's own: priority bindings, else forward
        if self._hold:
            return                    # the key changed the screen: that hold stands
        hold = self._start_hold()
        if key.is_forwarded:
            chain = [n for n in target.ancestors_with_self if n is not self]
            target.call_later(self._settle, hold, chain)
        else:                         # a priority binding ran: after what it asked of us
            self.post_message(TypeAheadRelease(hold, []))

    async def on_type_ahead_release(self, message: TypeAheadRelease) -> None:
        message.stop()
        if message.hold != self._hold:
            return  # a newer hold is under way; it sends its own release
        busy = self._busy(message.chain)
        if busy is not None and not self._overdue():
            busy.call_later(self._settle, message.hold, message.chain)
            return
        if message.rounds > 0 and not self._overdue():
            self.post_message(TypeAheadRelease(message.hold, message.chain,
                                               message.rounds - 1))
            return
        self._hold = 0
        while self._held and not self._hold:
            await self._deliver(self._held.popleft())

    # -- holds -----------------------------------------------------------------------------
    def _start_hold(self) -> int:
        self._holds_made += 1
        self._hold = self._holds_made
        self._hold_since = time.monotonic()
        if not self._watchdog_set:
            self._watchdog_set = True
            self.set_timer(HOLD_LIMIT, self._watchdog)
        return self._hold

    def _watchdog(self) -> None:
        self._watchdog_set = False
        if not self._hold:
            return
        waited = time.monotonic() - self._hold_since
        if waited >= HOLD_LIMIT:
            self.post_message(TypeAheadRelease(self._hold, [], 0))
        else:
            self._watchdog_set = True
            self.set_timer(HOLD_LIMIT - waited, self._watchdog)

    def _settle(self, hold: int, chain: list[DOMNode]) -> None:
        """Release the hold once no node of `chain` has a message waiting (the key, and
        whatever handling it posted, has been handled); otherwise look again after the
        busy node's waiting messages."""
        if hold != self._hold:
            return
        busy = self._busy(chain)
        if busy is None or self._overdue():
            self.post_message(TypeAheadRelease(hold, chain))
        else:
            busy.call_later(self._settle, hold, chain)

    @staticmethod
    def _busy(chain: list[DOMNode]) -> DOMNode | None:
        return next((n for n in chain if n.is_running and n.message_queue_size), None)

    def _overdue(self) -> bool:
        return time.monotonic() - self._hold_since >= HOLD_LIMIT

    def _screen_changed(self) -> None:
        hold = self._start_hold()
        # After the app's pending callbacks (a dismissed dialog's result callback, which
        # may push the next dialog), then after the top screen's own pending callbacks and
        # messages (its mounting: fields composed and focused).
        self.call_next(self._after_screen_change, hold)

    def _after_screen_change(self, hold: int) -> None:
        if hold != self._hold:
            return
        try:
            screen: Screen[Any] = self.screen
        except ScreenStackError:  # the last screen went (the app is closing)
            self._hold = 0
            return
        screen.call_next(self._settle, hold, [screen])

    # -- every way the top screen changes --------------------------------------------------
    def push_screen(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        result = super().push_screen(*args, **kwargs)
        self._screen_changed()
        return result

    def pop_screen(self) -> Any:
        result = super().pop_screen()
        self._screen_changed()
        return result

    def switch_screen(self, screen: Any) -> Any:
        result = super().switch_screen(screen)
        self._screen_changed()
        return result
