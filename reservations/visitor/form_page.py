"""The booking form as a page: shown, edited without JavaScript, and submitted.

Two pages show it: booking a day (``/book/<date>``) and joining a sold-out day's waiting list
(``/waitlist/<date>``). They differ in their template, the request the form builds, the
refusals they answer with the form again and what else they show; the rest is here, once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from sqlmodel import Session

from reservations import clock
from reservations.booking.schemas import BookingRequest
from reservations.errors import DomainError
from reservations.http import language_of, undo_refused
from reservations.rules import service as rules_service
from reservations.rules.schema import Rules
from reservations.visitor import calendar, forms
from reservations.visitor.forms import BookingForm, Problems
from reservations.web.templating import render_page

# What a page shows besides the form, from the day, the form and the rules in force.
AlsoShows = Callable[[Session, calendar.DayView, BookingForm, Rules], dict[str, Any]]
# Places what the form asks for (in the visitor's language); answers with where to go next.
Place = Callable[[BookingRequest, str], Response]

# The service's refusals that every such page answers with the form again, its problems
# next to the fields the visitor can fix.
FIXABLE = frozenset(
    {
        "validation_error",
        "invalid_id_number",
        "invalid_phone",
        "consent_required",
        "too_many_visitors",
        "minor_without_guardian",
        "booking_window",
        "duplicate_visitor",
        "visitor_banned",
    }
)


@dataclass(frozen=True)
class FormPage:
    template: str
    # The request the form builds (the waiting list's leaves the slot optional).
    model: type[BookingRequest]
    fixable: frozenset[str]
    also_shows: AlsoShows

    def show(
        self,
        request: Request,
        session: Session,
        day: date,
        form: BookingForm,
        problems: Problems | None = None,
        *,
        status_code: int = 200,
    ) -> Response:
        rules = rules_service.current(session)
        view = calendar.one_day(session, day)
        return render_page(
            request,
            self.template,
            {
                "day": view,
                **self.also_shows(session, view, form, rules),
                **forms.page_values(form, problems or {}, rules),
                "visit_date": day.isoformat(),
            },
            status_code=status_code,
        )

    def submit(
        self, request: Request, session: Session, day: date, form: BookingForm, place: Place
    ) -> Response:
        """Places what the form asks for, or answers with the form and its problems."""
        language = language_of(request)
        # Rules at most a second old: enough to list the form's problems before any write,
        # and the placement path checks the limit again with the rules in force.
        max_visitors = rules_service.recent().individual.max_visitors_per_booking
        try:
            built = forms.build_request(
                form, day, language, clock.today(), max_visitors, model=self.model
            )
            return place(built, language)
        except DomainError as error:
            if error.code not in self.fixable:
                raise
            # Nothing of a refused form may be kept; it is answered from reads only.
            undo_refused(session, error)
            rules = rules_service.current(session)
            problems = forms.problems_for(error, form, rules, day)
            return self.show(request, session, day, form, problems, status_code=error.status)

    def edit(
        self, request: Request, session: Session, day: date, form: BookingForm, change: str
    ) -> Response:
        """Without JavaScript: add or remove a companion row, keeping what was typed."""
        rules = rules_service.current(session)
        forms.change_rows(form, change, rules.individual.max_visitors_per_booking)
        return self.show(request, session, day, form)
