"""The planwise application: screens, global keys, the command palette."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import events, on, work
from textual._context import active_message_pump
from textual.app import SystemCommand
from textual.content import Content
from textual.message import Message
from textual.message_pump import MessagePump
from textual.notifications import Notify, SeverityLevel
from textual.screen import ModalScreen, Screen
from textual.worker import Worker

from planwise.errors import PlanwiseError
from planwise.store.verify import verify as verify_records
from planwise.tui import colours, keymap, textual_fixes, toasts
from planwise.tui.crash import CrashReport, ReportingWorkers, allows, handle
from planwise.tui.focus_marks import FocusMarksApp
from planwise.tui.messages import CaseloadLoaded, WorkFailed
from planwise.tui.screens.caseload import CaseloadScreen
from planwise.tui.screens.dialogs import TextPrompt
from planwise.tui.screens.help import HelpScreen
from planwise.tui.services import Services
from planwise.tui.type_ahead import TypeAheadApp

if TYPE_CHECKING:
    from planwise.config import Chosen

textual_fixes.apply()


def _faster_frames() -> None:
    """Textual draws a changed screen at most 60 times a second, so a search keystroke's
    new rows waited up to two frames (one for the rows, one for the table's new size)
    after they were ready: about 33 of its 40 ms (issue 12). At 120 a second that halves;
    a frame is still drawn only when something changed. TEXTUAL_FPS, when set, wins."""
    if "TEXTUAL_FPS" not in os.environ:
        import textual.screen

        textual.screen.UPDATE_PERIOD = 1 / 120  # type: ignore[misc]  # read as screens start


_faster_frames()


# The screen or widget a worker's result is being delivered to (call_from_thread), on the
# interface thread: such a callback runs in the app's context, not its node's.
_delivering_to: ContextVar[MessagePump | None] = ContextVar("planwise_delivering_to",
                                                            default=None)


class PlanwiseApp(TypeAheadApp, FocusMarksApp):
    # Keys typed while a screen or dialog opens reach its focused field (type_ahead.py);
    # the focused field's label is marked, with or without colour (focus_marks.py).
    # Absolute, so that a subclass defined elsewhere (tests, benchmarks) finds it too.
    CSS_PATH = [Path(__file__).resolve().parent / "styles" / name
                for name in ("app.tcss", "terminals.tcss")]
    TITLE = "planwise"
    BINDINGS = keymap.bindings("app")

    # Screens get the class -narrow below 80 columns and -short below 24 rows (styles/
    # app.tcss): the layouts that do not fit 60x20 change there, and nothing else does.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (80, "-normal-width")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (24, "-normal-height")]
    NOTIFICATION_TIMEOUT = toasts.INFO_SECONDS

    def __init__(self, services: Services, *, blink: bool = True, theme: Chosen | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._workers = ReportingWorkers(self)  # a failed worker is never unseen (crash.py)
        self.services = services
        # Tests and snapshots turn cursor blinking off so screens are stable;
        # nothing on any screen depends on blinking to be understood.
        self.blink = blink
        # Readable without truecolor: theme "ansi" uses the terminal's own 16 colours.
        # The choice comes settled from planwise.config (--theme, PLANWISE_THEME, the
        # config file); an app made directly (tests) reads PLANWISE_THEME alone.
        chosen = theme if theme is not None else colours.theme_from_environment()
        if chosen is not None:
            self.theme = colours.checked_theme(chosen, self.available_themes)
        if self.no_color:
            colours.drop_colours(self)

    def on_mount(self) -> None:
        if self.services.locked is not None:  # encrypted, or a first run: ask first
            from planwise.tui.screens.passphrase import PassphraseScreen

            self.push_screen(PassphraseScreen(self.services.locked,
                                              first_run=self.services.first_run),
                             lambda _: self._open_caseload())
            return
        self._open_caseload()

    def _open_caseload(self) -> None:
        self.encrypted = self.services.store.encrypted
        self.push_screen(CaseloadScreen())
        self._records_to_check = True  # once the caseload's first rows are on screen
        if self.services.chose_plain:
            self.notify("Plain SQLite: not encrypted. Keep it on an encrypted disk, or run "
                        "`planwise db encrypt` later.", title="Database", severity="warning",
                        stay=True)

    # -- after the first page: the modules the workers use, between keys -------------------
    # The caseload's first page needs none of them; importing them first held it back by
    # about 0.15 s (issue 12). They are imported one a step on this thread, keys handled in
    # between; whatever needs them waits (when_warm), and any other screen finishes the job
    # before it opens (push_screen), so no worker ever imports while this thread does.
    _after_warm: list[Callable[[], Any]] | None = None

    def when_warm(self, callback: Callable[[], Any]) -> None:
        """Run `callback` once Services.warm has finished (at once if it has)."""
        if self.services.warmed:
            callback()
            return
        if self._after_warm is None:
            self._after_warm = []
            self.call_after_refresh(self._warm_next)
        self._after_warm.append(callback)

    def _warm_next(self) -> None:
        if self.services.warm_step():
            # After the screen is idle and painted again: keys that came meanwhile are
            # handled and shown first (call_later would keep the queue from ever idling).
            self.call_after_refresh(self._warm_next)
        else:
            self._warm_done()

    def _warm_done(self) -> None:
        callbacks, self._after_warm = self._after_warm or [], []
        for callback in callbacks:
            callback()

    def push_screen(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        screen = args[0] if args else kwargs.get("screen")
        if isinstance(screen, ModalScreen) and self._asked_from_below():
            return None
        if not isinstance(screen, CaseloadScreen) and type(screen).__name__ != \
                "PassphraseScreen" and not self.services.warmed:
            self.services.warm()  # its workers may import nothing of their own
            self._warm_done()
        return super().push_screen(*args, **kwargs)

    def _asked_from_below(self) -> bool:
        """The code asking for a dialog runs for a screen no longer on top. Keys come in
        bursts over SSH: a second key (or the Enter a tree turned into a selection) already
        sent to the plan editor when its first key opened a dialog would open a second
        dialog over the first, and the kept draft could hold only one of them (the monkey
        test found two edit dialogs stacked). A screen under a dialog opens none, nor does
        a worker's result delivered to it (call_from_thread): the plan editor reloaded
        under an open dialog reopened that dialog's kept draft over it."""
        pump = _delivering_to.get()
        if pump is None:
            try:
                pump = active_message_pump.get()
            except LookupError:
                return False
        try:
            asking = pump if isinstance(pump, Screen) else getattr(pump, "screen", None)
        except Exception:  # a widget no longer on any screen
            return True
        return (isinstance(asking, Screen) and asking is not self.screen
                and asking in self.screen_stack)

    # -- `planwise verify` at start: records changed outside planwise are said at once --
    _records_to_check = False

    @on(CaseloadLoaded)
    def _first_rows_shown(self) -> None:
        # After the first rows are painted: the check reads every record (a quarter of a
        # second with 10,000 clients) and would hold back the first page (issue 12).
        if self._records_to_check:
            self._records_to_check = False
            self.call_after_refresh(self.when_warm, self.check_records)

    @work(thread=True, exit_on_error=False, group="verify")
    def check_records(self) -> None:
        with self.services.store.connect() as conn:
            report = verify_records(conn.raw)
        if report.problems:
            self.call_from_thread(self._records_broken, [str(p) for p in report.problems])

    def _records_broken(self, problems: list[str]) -> None:
        shown = problems[:5] + ([f"... and {len(problems) - 5} more"] if len(problems) > 5
                                else [])
        self.notify("\n".join([f"{len(problems)} record(s) are not as planwise wrote them:",
                               *shown, "Run `planwise verify`; restore a backup and compare."]),
                    title="Records changed outside planwise", severity="error", markup=False,
                    stay=True)

    # -- notifications: short, at the top right, the newest replaces the rest (toasts.py) --
    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = True, stay: bool = False) -> None:
        seconds = toasts.STAY_SECONDS if stay else toasts.seconds(severity, title, message)
        super().notify(message, title=title, severity=severity, timeout=seconds, markup=markup)

    def on_notify(self, event: Notify) -> None:
        # Runs before Textual's own handler adds the new one (handlers run subclass first).
        for old in list(self._notifications):
            if old is not event.notification and toasts.passing(old.timeout):
                self._unnotify(old, refresh=False)

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        # A cursor blinks only while focused: turn it off as focus arrives.
        if not self.blink and hasattr(event.widget, "cursor_blink"):
            event.widget.cursor_blink = False

    # -- navigation used by every screen ------------------------------------------------
    def open_client(self, client_id: int) -> None:
        from planwise.tui.screens.client import ClientScreen

        self.push_screen(ClientScreen(client_id))

    def open_plan(self, plan_id: int) -> None:
        from planwise.tui.screens.plan import PlanScreen

        self.push_screen(PlanScreen(plan_id))

    def review_new_intake(self, client_id: int, intake_data: dict[str, Any]) -> None:
        """The proposal review of an intake not stored yet (Ctrl+R on the new intake)."""
        from planwise.tui.screens.proposal import ProposalScreen

        self.push_screen(ProposalScreen(client_id, intake_data))

    def open_intake_proposal(self, client_id: int, intake_id: int) -> None:
        from planwise.tui.screens.proposal import ProposalScreen

        self.push_screen(ProposalScreen.from_stored_intake(client_id, intake_id))

    def new_intake(self, client_id: int) -> None:
        from planwise.tui.screens.intake import IntakeScreen

        self.push_screen(IntakeScreen(client_id))

    def new_session(self, plan_id: int) -> None:
        from planwise.tui.screens.session import SessionScreen

        self.push_screen(SessionScreen(plan_id))

    def review_plan(self, plan_id: int, done: Callable[[bool | None], None] | None = None
                    ) -> None:
        from planwise.tui.screens.review import ReviewScreen

        self.push_screen(ReviewScreen(plan_id), done)

    def edit_client_info(self, client_id: int) -> None:
        from planwise.tui.screens.client_edit import ClientEditScreen

        self.push_screen(ClientEditScreen(client_id))

    def export_plan(self, plan_id: int) -> None:
        from planwise.tui.screens.export import ExportDialog

        self.push_screen(ExportDialog(plan_id))

    def action_new_client(self) -> None:
        def created(name: str | None) -> None:
            if name:
                self.create_client(name)

        self.push_screen(TextPrompt("New client", placeholder="Full name",
                                    note="Only the name now; add contacts and history on "
                                         "the client's page (e)."), created)

    @work(thread=True, exit_on_error=False, group="write")
    def create_client(self, name: str) -> None:
        client_id = self.services.add_client(name)
        self.call_from_thread(self._client_created, client_id)

    def _client_created(self, client_id: int) -> None:
        self.notify(f"Client C{client_id} added.")
        for screen in self.screen_stack:
            if isinstance(screen, CaseloadScreen):
                screen.action_refresh()
        self.open_client(client_id)

    # Every screen's header says an encrypted database is one (screens set their own title).
    encrypted = False

    def format_title(self, title: str, sub_title: str) -> Content:
        return super().format_title(f"{title} (encrypted)" if self.encrypted else title,
                                    sub_title)

    def action_database(self) -> None:
        store = self.services.store
        self.notify(f"{store.path}\n{store.kind}", title="Database", markup=False)

    def action_go_caseload(self) -> None:
        while len(self.screen_stack) > 2:
            self.pop_screen()

    # -- help and palette ----------------------------------------------------------------
    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        areas: list[str] = []
        node = self.focused
        while node is not None:
            area = getattr(node, "HELP_AREA", None)
            if area and area not in areas:
                areas.append(area)
            node = node.parent  # type: ignore[assignment]
        screen_area = getattr(self.screen, "HELP_AREA", None)
        if screen_area and screen_area not in areas:
            areas.append(screen_area)
        intro = getattr(self.screen, "HELP_TEXT", "")
        self.push_screen(HelpScreen(areas, intro))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield SystemCommand("New client", "Add a client to the caseload", self.action_new_client)
        yield SystemCommand("Caseload", "Back to the list of clients", self.action_go_caseload)
        yield SystemCommand("Help", "The keys of the area in focus", self.action_help)
        if self.services.locked is None:
            yield SystemCommand("Database", "Which file, and whether it is encrypted",
                                self.action_database)
        yield from self._screen_commands(screen)
        yield from super().get_system_commands(screen)

    def _screen_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Every action of the current screen, from its keymap, so nothing needs the key."""
        area = getattr(screen, "HELP_AREA", None)
        for key in keymap.KEYMAP.get(area or "", []):
            if key.action in ("back", "cancel", "new_client"):  # the app lists new_client
                continue
            yield SystemCommand(key.description, f"{keymap.display(key.keys)} on this screen",
                                lambda action=key.action: screen.run_action(action))

    # -- an error nothing else handled: drafts saved, logged, said; never a traceback ------
    crash: CrashReport | None = None

    def _handle_exception(self, error: Exception) -> None:
        handle(self, error)  # instead of Textual's traceback with locals (crash.py)

    def call_from_thread(self, callback: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        # A worker's result for a screen closed meanwhile has nowhere to go: dropped, not
        # shown on widgets that are gone (NoMatches once the user had moved on; the
        # monkey test found it). Checked on the interface thread, where screens close.
        node = getattr(callback, "__self__", None)

        def deliver() -> Any:
            if isinstance(node, MessagePump) and node is not self and (
                    not node.is_attached or node._closing or node._closed
                    or getattr(node, "_pruning", False)):
                return None
            token = _delivering_to.set(node if isinstance(node, MessagePump) else None)
            try:
                return callback(*args, **kwargs)
            finally:
                _delivering_to.reset(token)

        return super().call_from_thread(deliver)

    async def _dispatch_message(self, message: Message) -> None:
        # An error in the app's own handlers (every key passes through them) would end
        # its message loop, and the app with it, before the crash screen could show.
        try:
            await super()._dispatch_message(message)
        except Exception as error:
            self._handle_exception(error)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return allows(self, action) and super().check_action(action, parameters)

    # -- failures in workers: a PlanwiseError is said, anything else is a crash --------
    def worker_failed(self, worker: Worker[Any]) -> None:
        """Any worker's failure, whatever started it (crash.ReportingWorkers)."""
        error = worker.error
        if error is not None:
            if isinstance(error, PlanwiseError):
                self.notify(str(error), title="Not saved", severity="error", timeout=8)
            elif isinstance(error, Exception):
                self._handle_exception(error)  # a fault in planwise: crash.py says so

    @on(WorkFailed)
    def work_failed(self, message: WorkFailed) -> None:
        self.notify(message.text, severity="error", timeout=8)
