"""The quiz panel: one question at a time, graded, then rated by the user for the scheduler.

It drives ``diagnose.quiz.session.QuizEngine`` (grading and FSRS scheduling
live there).  Grading is pure and instant; recording the review touches the
progress database and runs in a worker.
"""

from __future__ import annotations

from diagnose.tui.messages import QuizAnswered
from diagnose.tui.widgets.lists import VIM_SCROLL_BINDINGS, VimOptionList
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.reactive import reactive
from textual.widgets import Button, Input, Markdown, Static
from textual.widgets.option_list import Option

from diagnose.quiz.grading import Grade
from diagnose.quiz.grading import grade as grade_answer
from diagnose.quiz.session import QuizEngine, QuizItem, interval_words
from diagnose.quiz.store import ProgressStore

RATINGS = ("again", "hard", "good", "easy")


class QuizPanel(VerticalScroll):
    """Ask ``items`` in turn.  Each: answer → feedback → self-rating → next."""

    # Keys work wherever the focus is inside the panel; each applies only when it means something now
    # (check_action), otherwise the key falls through (1-3 switch tabs on a report screen).
    # Hint is ctrl+g: ctrl+h reaches an app as Backspace in most terminals.
    BINDINGS = [
        *[Binding(key, f"choose({i})", f"Choice {key}", show=False) for i, key in enumerate("abcd")],
        *[Binding(str(i + 1), f"number({i})", RATINGS[i].capitalize(), show=False) for i in range(4)],
        Binding("ctrl+g", "hint", "Hint"),
        *VIM_SCROLL_BINDINGS,
    ]

    progress: reactive[tuple[int, int]] = reactive((0, 0))  # (question shown, of how many); watch it to count down

    def __init__(self, *, id: str | None = None, empty: str = "No question yet.") -> None:
        super().__init__(id=id)
        self.items: list[QuizItem] = []
        self.index = 0
        self.grade: Grade | None = None
        self.empty = empty
        self.answered: list[QuizAnswered] = []
        self._rating_pending = False

    def compose(self) -> ComposeResult:
        yield Static(self.empty, classes="placeholder")

    @property
    def item(self) -> QuizItem | None:
        return self.items[self.index] if 0 <= self.index < len(self.items) else None

    async def set_items(self, items: list[QuizItem], empty: str | None = None, focus: bool = False) -> None:
        """Show ``items`` from the first; ``focus`` puts the cursor in the answer (the panel is on screen)."""
        self.items, self.index, self.grade, self._rating_pending = list(items), 0, None, False
        if empty is not None:
            self.empty = empty
        await self._show_question()
        if focus:
            self.call_after_refresh(self.focus_answer)

    async def _show_question(self) -> None:
        await self.remove_children()
        self.progress = (self.index, len(self.items))
        self.refresh_bindings()
        item = self.item
        if item is None:
            done = f"Done: {len(self.answered)} answered." if self.answered else self.empty
            await self.mount(Static(Text(done), classes="placeholder"))
            return
        q = item.question
        count = f"Question {self.index + 1} of {len(self.items)}" if len(self.items) > 1 else "Question"
        widgets = [
            Static(
                Text.assemble((count, "dim"), ("  ·  ", "dim"), (item.entry_title, "dim italic")), classes="quiz-meta"
            ),
            Markdown(q.question, classes="quiz-question"),
        ]
        if q.kind == "choice":
            widgets.append(
                VimOptionList(
                    *[Option(Text(f"{chr(97 + i)}) {c}"), id=f"choice-{i}") for i, c in enumerate(q.choices)],
                    id="quiz-choices",
                )
            )
            keys = "a-" + chr(96 + min(len(q.choices), 4))
            widgets.append(
                Static(Content.styled(f"Press {keys} (or 1-{min(len(q.choices), 4)}) to answer", "$text-muted"))
            )
        else:
            widgets.append(Input(placeholder="Your answer, then Enter", id="quiz-answer"))
        buttons = [Button("Submit", id="quiz-submit", variant="primary", compact=True)]
        if q.hint:
            buttons.append(Button("Hint", id="quiz-hint", compact=True))
        buttons.append(Button("Skip", id="quiz-skip", compact=True))
        widgets.append(Horizontal(*buttons, classes="quiz-buttons"))
        widgets.append(Static("", id="quiz-hint-text"))
        await self.mount_all(widgets)
        for choices in self.query("#quiz-choices"):
            choices.highlighted = None  # nothing is chosen for the user

    def focus_answer(self) -> None:
        for selector in ("#quiz-answer", "#quiz-choices"):
            found = self.query(selector)
            if found:
                found.first().focus()
                return

    # -- answering

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        item = self.item
        if action == "choose":
            return self._can_choose(parameters[0])
        if action == "number":  # 1-4: a choice before grading, a rating after
            if self.grade is not None:
                return not self.query(".rated") and not self._rating_pending
            return self._can_choose(parameters[0])
        if action == "hint":
            return item is not None and bool(item.question.hint) and self.grade is None
        return True

    def _can_choose(self, index: int) -> bool:
        item = self.item
        return (
            item is not None
            and self.grade is None
            and item.question.kind == "choice"
            and index < len(item.question.choices)
        )

    async def action_choose(self, index: int) -> None:
        await self.submit(self.item.question.choices[index])

    async def action_number(self, index: int) -> None:
        if self.grade is None:
            await self.action_choose(index)
        else:
            self.rate(RATINGS[index])

    def action_hint(self) -> None:
        item = self.item
        if item and item.question.hint:
            self.query_one("#quiz-hint-text", Static).update(Text.assemble(("Hint: ", "bold"), item.question.hint))

    @on(Input.Submitted, "#quiz-answer")
    async def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        await self.submit(event.value)

    @on(VimOptionList.OptionSelected, "#quiz-choices")
    async def _chosen(self, event: VimOptionList.OptionSelected) -> None:
        event.stop()
        await self.submit(self.item.question.choices[event.option_index])

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        button = event.button.id or ""
        event.stop()
        if button == "quiz-submit":
            await self.submit(self._current_answer())
        elif button == "quiz-hint":
            self.action_hint()
        elif button == "quiz-skip":
            await self.next_question()
        elif button.startswith("rate-"):
            self.rate(button.removeprefix("rate-"))
        elif button == "quiz-next":
            await self.next_question()

    def _current_answer(self) -> str:
        if self.query("#quiz-answer"):
            return self.query_one("#quiz-answer", Input).value
        options = self.query("#quiz-choices")
        if options:
            highlighted = options.first(VimOptionList).highlighted
            if highlighted is not None:
                return self.item.question.choices[highlighted]
        return ""

    async def submit(self, answer: str) -> Grade | None:
        """Grade ``answer`` (pure, instant) and show the feedback and the rating buttons."""
        item = self.item
        if item is None or self.grade is not None:
            return None
        self.grade = grade = grade_answer(item.question, answer)
        for selector in ("#quiz-answer", "#quiz-choices", ".quiz-buttons"):
            for widget in self.query(selector):
                widget.disabled = True
        wrong = "bold underline $error"  # underlined too: readable without colour
        verdict = (
            ("✓ Right", "bold $success")
            if grade.correct
            else (("Partly right", "bold $warning") if grade.score >= 0.5 else ("✗ Not quite", wrong))
        )
        if grade.blank:
            verdict = ("No answer", wrong)
        parts: list = [verdict, (f"   score {grade.score:.0%}", "$text-muted")]
        if item.question.kind == "open":
            if grade.present:
                parts += ["\nYou covered: ", (", ".join(grade.present), "$success")]
            if grade.missing:
                parts += ["\nMissing: ", (", ".join(grade.missing), wrong)]
        elif grade.chosen and not grade.correct:
            parts += ["\nYou chose: ", (grade.chosen, wrong)]
        lines = Content.assemble(*parts)
        widgets = [
            Static(lines, id="quiz-feedback"),
            Static(Text("Model answer", style="bold"), classes="section"),
            Markdown(item.question.answer, id="quiz-model-answer"),
        ]
        if item.question.explanation:
            widgets.append(Markdown(item.question.explanation, classes="quiz-explanation"))
        suggested = grade.suggested_rating.name.lower()
        widgets.append(
            Static(
                Content.assemble("How well did you know it? ", (f"(suggested: {suggested}; keys 1-4)", "$text-muted")),
                classes="section",
            )
        )
        widgets.append(
            Horizontal(
                *[
                    Button(
                        f"{number} {name.capitalize()}",
                        id=f"rate-{name}",
                        compact=True,
                        variant="primary" if name == suggested else "default",
                    )
                    for number, name in enumerate(RATINGS, 1)
                ],
                classes="rating-buttons",
            )
        )
        await self.mount_all(widgets)
        # After the refresh: disabling the focused answer moves the focus away first (out of the panel,
        # where 1-4 would switch tabs instead of rating).
        suggested_button = self.query_one(f"#rate-{suggested}", Button)
        self.call_after_refresh(suggested_button.focus)
        self.scroll_end(animate=False)
        self.refresh_bindings()
        return grade

    def rate(self, rating: str) -> None:
        item, grade = self.item, self.grade
        if item is None or grade is None or self.query(".rated") or self._rating_pending:
            return
        self._rating_pending = True
        for button in self.query(".rating-buttons Button"):
            button.disabled = True
        self.refresh_bindings()
        self._record(item, grade, rating)

    @work(thread=True, exclusive=True, exit_on_error=False, group="quiz-record")
    def _record(self, item: QuizItem, grade: Grade, rating: str) -> None:
        app = self.app
        with ProgressStore() as store:
            outcome = QuizEngine(app.knowledge(), store).record(item, grade, app.now(), rating)
        message = QuizAnswered(item.id, grade.correct, grade.score, outcome.rating.name.lower())
        self.app.call_from_thread(self._recorded, message, interval_words(outcome.interval))

    async def _recorded(self, message: QuizAnswered, when: str) -> None:
        self._rating_pending = False
        self.answered.append(message)
        self.post_message(message)
        more = self.index + 1 < len(self.items)
        await self.mount(
            Static(Text(f"Saved ({message.rating}). This question comes back {when}.", style="dim"), classes="rated")
        )
        if more:
            await self.mount(Button("Next question", id="quiz-next", variant="primary", compact=True))
            self.query_one("#quiz-next", Button).focus()
        self.scroll_end(animate=False)

    async def next_question(self) -> None:
        self.index += 1
        self.grade = None
        await self._show_question()
        self.call_after_refresh(self.focus_answer)
