"""The admin console's pages (Chinese first, English by the catalog), behind the admin role.

Pages only translate forms to the same service calls the API makes. Every form posts with
a CSRF token; a change that succeeds redirects (so reloading does not repeat it) to a page
that says what was done; a change that cannot be made shows the form again with the reason.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from reservations import clock
from reservations.accounts import signin
from reservations.accounts.service import MIN_PASSWORD_LENGTH, Principal, list_users
from reservations.admin import calendar, charts, labels, rules_form, stats, users
from reservations.admin.labels import N_
from reservations.admin.router import export_response
from reservations.audit import service as audit
from reservations.auth.staff_session import AdminPage
from reservations.errors import DomainError, ValidationFailed, validation_details
from reservations.gate import service as gate_service
from reservations.http import DbSession, language_of, undo_refused
from reservations.ops import jobs as ops_jobs
from reservations.rules import service as rules_service
from reservations.rules.errors import InvalidRules, RulesChanged
from reservations.rules.projection import Projection, project
from reservations.rules.schema import WEEKDAYS
from reservations.web import csrf, i18n
from reservations.web.templating import render_page

router = APIRouter(include_in_schema=False)

CsrfField = Annotated[str, Form(max_length=100)]

NOTICES = {
    "rules_saved": N_("规则已保存，立即生效。"),
    "rules_unchanged": N_("规则没有变化，未保存。"),
    "override_saved": N_("该日设置已保存，立即生效。"),
    "override_removed": N_("已取消该日的例外设置，按常规规则执行。"),
    "user_created": N_("账户已创建。"),
    "user_disabled": N_("账户已停用，其登录会话已全部失效。"),
    "user_enabled": N_("账户已启用。"),
    "password_reset": N_("密码已重置，该账户的登录会话已全部失效。"),
}

# What a refusal means, by its stable type (see reservations.rules.schema), for the form.
PROBLEMS = {
    "missing": N_("请填写此项。"),
    "int_parsing": N_("请输入整数。"),
    "int_type": N_("请输入整数。"),
    "greater_than_equal": N_("不能小于 %(ge)s。"),
    "less_than_equal": N_("不能大于 %(le)s。"),
    "literal_error": N_("请从列表中选择。"),
    "bool_type": N_("请选择是或否。"),
    "string_too_long": N_("内容太长。"),
    "string_pattern_mismatch": N_("格式不正确（字母、数字、下划线或连字符）。"),
    "too_short": N_("至少需要一项。"),
    "too_long": N_("项目太多。"),
    "extra_forbidden": N_("未知的设置项。"),
    "time_format": N_("请按“时:分”填写，如 09:00。"),
    "rate_format": N_("请填写如 60/minute 的频率，或 off。"),
    "date_format": N_("请按“年-月-日”填写日期。"),
    "duplicate_items": N_("每项只能选一次。"),
    "closes_before_opens": N_("闭馆时间须晚于开馆时间。"),
    "last_entry_outside_hours": N_("最晚入馆时间须在开馆与闭馆之间。"),
    "window_order": N_("最多提前天数不能少于最少提前天数。"),
    "team_size_order": N_("团队最多人数不能少于最少人数。"),
    "above_building_limit": N_("不能超过建筑核定最大容量（%(building_limit)s 人）。"),
    "slot_ends_before_start": N_("时段 %(slot)s 的结束时间须晚于开始时间。"),
    "duplicate_slot_id": N_("时段编号 %(slot)s 重复。"),
    "slot_outside_hours": N_("时段 %(slot)s 超出开放时间（%(opens)s–%(closes)s）。"),
    "slot_after_last_entry": N_("时段 %(slot)s 晚于最晚入馆时间（%(last_entry)s）开始。"),
    "slots_overlap": N_("时段 %(slot)s 与时段 %(other)s 重叠。"),
    "past_day": N_("不能修改已经过去的日期。"),
}
UNKNOWN_PROBLEM = N_("此项无效。")

CHANGE_FIELDS = {
    "closed": N_("闭馆"),
    "individual_quota": N_("个人名额"),
    "team_quota": N_("团队名额"),
    "note": N_("备注"),
    "role": N_("角色"),
    "disabled": N_("已停用"),
    "password": N_("密码"),
    "sessions": N_("登录会话"),
    "bookings": N_("预约笔数"),
    "offline_margin": N_("离线预留名额"),
    "scan": N_("扫码编号"),
    "device": N_("设备"),
    "gate": N_("入口"),
    "at": N_("扫码时间"),
    "reason": N_("原因"),
    "first_gate": N_("先前入馆入口"),
    "first_at": N_("先前入馆时间"),
    "people": N_("人数"),
    "inside": N_("馆内人数"),
    "limit": N_("瞬时上限"),
}


# --- helpers -----------------------------------------------------------------------------


Translate = Callable[..., str]


def translator(request: Request) -> Translate:
    """Translate outside a template, in the request's language."""
    language = language_of(request)

    def translate(text: str, **values: object) -> str:
        with i18n.speaking(language):
            try:
                return i18n.gettext(text, **values)
            except (KeyError, ValueError, TypeError):
                return i18n.gettext(text)  # a context value the message did not expect

    return translate


def redirect(path: str, **query: str) -> RedirectResponse:
    target = f"{path}?{urlencode(query)}" if query else path
    return RedirectResponse(target, status_code=303)


def notice_of(key: str | None) -> str | None:
    return NOTICES.get(key or "")


def problem_messages(
    translate: Translate, details: dict[str, Any], field_name: Callable[[str], str] = str
) -> dict[str, list[str]]:
    """Field name on the form -> what is wrong there, in the reader's language."""
    found: dict[str, list[str]] = {}
    for item in details.get("fields", []):
        template = PROBLEMS.get(str(item.get("type", "")), UNKNOWN_PROBLEM)
        message = translate(template, **dict(item.get("context") or {}))
        found.setdefault(field_name(str(item.get("field", ""))), []).append(message)
    return found


def change_label(path: str) -> list[str]:
    """The parts naming a changed value, each translatable: 个人预约 · 每日名额（人）."""
    parts = path.split(".")
    if parts[0] == "slots" and len(parts) >= 2:
        slot_part = [N_("时段"), parts[1]]
        if len(parts) == 2:
            return slot_part
        key = parts[2]
        return [*slot_part, rules_form.LABELS.get(f"slots.{key}", key)]
    if len(parts) >= 2:
        section = rules_form.SECTION_TITLES.get(parts[0], parts[0])
        name = ".".join(parts[:2])
        label = rules_form.LABELS.get(name) or rules_form.LABELS.get(parts[1]) or parts[1]
        return [section, label]
    return [CHANGE_FIELDS.get(path, path)] if path else []


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True)


def _parse_day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def projection_words(translate: Translate) -> charts.ProjectionLabels:
    return charts.ProjectionLabels(
        title=translate("预计在馆人数（按时段名额和典型参观时长估算）"),
        people=translate("在馆"),
        limit=translate("瞬时上限"),
        over=translate("超出上限"),
    )


def projection_view(translate: Translate, projection: Projection, chart_id: str) -> dict[str, Any]:
    return {
        "data": projection,
        "peak_start": projection.as_dict()["peak_start"],
        "peak_end": projection.as_dict()["peak_end"],
        "chart": charts.projection_chart(projection, projection_words(translate), chart_id),
    }


def weekday(day: date) -> str:
    return labels.WEEKDAY_NAMES[WEEKDAYS[day.weekday()]]


def base_context(principal: Principal, **values: Any) -> dict[str, Any]:
    return {
        "principal": principal,
        "labels": labels,
        "option_labels": rules_form.OPTION_LABELS,
        "change_label": change_label,
        "weekday": weekday,
        **values,
    }


# --- overview ----------------------------------------------------------------------------


@router.get("/admin")
def overview(request: Request, session: DbSession, principal: AdminPage) -> Response:
    translate = translator(request)
    today = clock.today()
    rules = rules_service.current(session)
    week = calendar.days_between(session, today, today + timedelta(days=7))
    upcoming = rules_service.overrides_between(session, today, today + timedelta(days=61))
    return render_page(
        request,
        "admin/overview.html",
        base_context(
            principal,
            occupancy=gate_service.current_occupancy(session),
            week=week,
            overrides=[upcoming[day] for day in sorted(upcoming)],
            standard=projection_view(translate, project(rules), "standard-day"),
            warning_days=[day for day in week if day.projection.exceeds_limit],
            recount=ops_jobs.latest_check(session),
            recent=audit.recent(session, 8),
            rules=rules,
        ),
    )


@router.get("/admin/occupancy.json")
def occupancy_json(session: DbSession, _principal: AdminPage) -> JSONResponse:
    occupancy = gate_service.current_occupancy(session)
    return JSONResponse(
        {
            "inside": occupancy.inside,
            "limit": occupancy.limit,
            "entered_today": occupancy.entered_today,
            "exited_today": occupancy.exited_today,
        },
        headers={"Cache-Control": "no-store"},
    )


# --- calendar and days -------------------------------------------------------------------


@router.get("/admin/calendar")
def calendar_page(request: Request, session: DbSession, principal: AdminPage) -> Response:
    return render_page(
        request,
        "admin/calendar.html",
        base_context(principal, months=calendar.months(session), today=clock.today()),
    )


def _day_page(
    request: Request,
    session: Session,
    principal: Principal,
    day: date,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, list[str]] | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Response:
    translate = translator(request)
    entry = calendar.one_day(session, day)
    override = entry.override
    if form is None:
        form = {
            "closed": "rules"
            if override is None or override.closed is None
            else ("closed" if override.closed else "open"),
            "individual_quota": _text(override.individual_quota if override else None),
            "team_quota": _text(override.team_quota if override else None),
            "note": (override.note or "") if override else "",
        }
    report = stats.daily(session, day, day)[0] if day <= clock.today() else None
    return render_page(
        request,
        "admin/day.html",
        base_context(
            principal,
            entry=entry,
            rules=rules_service.current(session),
            form=form,
            errors=errors or {},
            notice=notice,
            report=report,
            editable=day >= clock.today(),
            projection=projection_view(translate, entry.projection, "day"),
        ),
        status_code=status_code,
    )


def _text(value: int | None) -> str:
    return "" if value is None else str(value)


@router.get("/admin/calendar/{day}")
def day_page(
    request: Request,
    session: DbSession,
    principal: AdminPage,
    day: date,
    done: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    return _day_page(request, session, principal, day, notice=notice_of(done))


@router.post("/admin/calendar/{day}")
def save_day(
    request: Request,
    session: DbSession,
    principal: AdminPage,
    day: date,
    csrf_token: CsrfField = "",
    closed: Annotated[str, Form(max_length=10)] = "rules",
    individual_quota: Annotated[str, Form(max_length=12)] = "",
    team_quota: Annotated[str, Form(max_length=12)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    csrf.check(request, csrf_token)
    translate = translator(request)
    form = {
        "closed": closed,
        "individual_quota": individual_quota.strip(),
        "team_quota": team_quota.strip(),
        "note": note,
    }
    problems: list[dict[str, Any]] = []
    values: dict[str, Any] = {
        "closed": {"closed": True, "open": False}.get(closed),
        "note": note.strip() or None,
    }
    for name in ("individual_quota", "team_quota"):
        values[name] = rules_form.integer(form[name], name, problems) if form[name] else None
    if not problems:
        try:
            change = rules_service.DayOverrideChange.model_validate(values)
            rules_service.put_override(session, day, change, principal.username)
        except ValidationError as exc:
            problems = validation_details(exc.errors(include_url=False))["fields"]
        except ValidationFailed as exc:
            undo_refused(session, exc)
            problems = list(exc.details.get("fields", []))
    if problems:
        for item in problems:
            if item.get("field") == "date":
                item["type"] = "past_day"
        return _day_page(
            request,
            session,
            principal,
            day,
            form=form,
            errors=problem_messages(translate, {"fields": problems}),
            status_code=422,
        )
    return redirect(f"/admin/calendar/{day.isoformat()}", done="override_saved")


@router.post("/admin/calendar/{day}/clear")
def clear_day(
    request: Request,
    session: DbSession,
    principal: AdminPage,
    day: date,
    csrf_token: CsrfField = "",
) -> Response:
    csrf.check(request, csrf_token)
    rules_service.delete_override(session, day, principal.username)
    return redirect(f"/admin/calendar/{day.isoformat()}", done="override_removed")


# --- rules -------------------------------------------------------------------------------


def _rules_page(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    values: rules_form.FormValues | None = None,
    errors: dict[str, list[str]] | None = None,
    preview: dict[str, Any] | None = None,
    version: int | None = None,
    notice: str | None = None,
    alert: str | None = None,
    status_code: int = 200,
) -> Response:
    translate = translator(request)
    current = rules_service.current(session)
    current_version = rules_service.version(session)
    document = rules_service.to_document(current)
    errors = errors or {}
    form_names = {item.name for section in rules_form.sections() for item in section.inputs}
    section_names = {section.key for section in rules_form.sections()}
    placed = {
        name
        for name in errors
        if name in form_names or name in section_names or name.startswith("slots.")
    }
    return render_page(
        request,
        "admin/rules.html",
        base_context(
            principal,
            sections=rules_form.sections(),
            slot_inputs=rules_form.slot_inputs(),
            values=values or rules_form.from_document(document),
            errors=errors,
            general_errors=[m for name, ms in errors.items() if name not in placed for m in ms],
            error_count=sum(len(ms) for ms in errors.values()),
            preview=preview,
            current=projection_view(translate, project(current), "current-day"),
            version=current_version if version is None else version,
            notice=notice,
            alert=alert,
        ),
        status_code=status_code,
    )


@router.get("/admin/rules")
def rules_page(
    request: Request,
    session: DbSession,
    principal: AdminPage,
    done: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    return _rules_page(request, session, principal, notice=notice_of(done))


@router.post("/admin/rules")
async def submit_rules(request: Request, session: DbSession, principal: AdminPage) -> Response:
    form = await request.form()
    return await _run_sync(_submit_rules, request, session, principal, form)


async def _run_sync(function: Callable[..., Response], *args: Any) -> Response:
    # The form's fields depend on the rules schema, so it is read here, asynchronously;
    # the database work then runs on a worker thread like every other page's.
    return await run_in_threadpool(function, *args)


def _submit_rules(request: Request, session: Session, principal: Principal, form: Any) -> Response:
    csrf.check(request, str(form.get("csrf_token") or ""))
    translate = translator(request)
    intent = str(form.get("intent") or "preview")
    try:
        version = int(str(form.get("version") or ""))
    except ValueError:
        version = None
    values = rules_form.from_form(form)
    parsed = rules_form.parse(values)
    if parsed.problems:
        return _rules_page(
            request,
            session,
            principal,
            values=values,
            version=version,
            errors=problem_messages(translate, {"fields": parsed.problems}),
            status_code=422,
        )
    current = rules_service.current(session)
    try:
        proposed = rules_service.merged(current, parsed.patch)
    except InvalidRules as exc:
        return _rules_page(
            request,
            session,
            principal,
            values=values,
            version=version,
            errors=problem_messages(translate, exc.details, parsed.form_field),
            status_code=422,
        )
    projection = project(proposed)
    changes = audit.changes(rules_service.to_document(current), rules_service.to_document(proposed))
    acknowledged = form.get("acknowledge_peak") is not None
    if intent == "save" and (acknowledged or not projection.exceeds_limit):
        if not changes:
            return redirect("/admin/rules", done="rules_unchanged")
        try:
            rules_service.update(session, parsed.patch, principal.username, version)
        except RulesChanged as exc:
            undo_refused(session, exc)
            return _rules_page(
                request,
                session,
                principal,
                alert=translate("规则已被他人修改。下面是最新的规则，请重新填写您的修改。"),
                status_code=409,
            )
        return redirect("/admin/rules", done="rules_saved")
    return _rules_page(
        request,
        session,
        principal,
        values=values,
        version=version,
        preview={
            "changes": changes,
            "needs_acknowledgement": projection.exceeds_limit,
            "refused_unacknowledged": intent == "save",
            **projection_view(translate, projection, "proposed-day"),
        },
    )


# --- reports -----------------------------------------------------------------------------


@router.get("/admin/stats")
def stats_page(
    request: Request,
    session: DbSession,
    principal: AdminPage,
    start: Annotated[str | None, Query(max_length=10)] = None,
    end: Annotated[str | None, Query(max_length=10)] = None,
) -> Response:
    translate = translator(request)
    today = clock.today()
    first = _parse_day(start) or today - timedelta(days=13)
    last = _parse_day(end) or today + timedelta(days=7)
    error = None
    if (start and _parse_day(start) is None) or (end and _parse_day(end) is None):
        error = translate("请按“年-月-日”填写日期。")
    try:
        stats.check_range(first, last)
    except ValidationFailed:
        error = translate("结束日期不能早于开始日期，且一次最多 %(n)s 天。", n=stats.MAX_DAYS)
    if error:
        first, last = today - timedelta(days=13), today + timedelta(days=7)
    days = stats.daily(session, first, last)
    words = charts.StatsLabels(
        title=translate("每日预约与入馆人数"),
        individual=translate("个人预约"),
        team=translate("团队预约"),
        checked_in=translate("已入馆"),
        no_shows=translate("未到馆"),
    )
    return render_page(
        request,
        "admin/stats.html",
        base_context(
            principal,
            days=days,
            totals=stats.totals(days),
            chart=charts.stats_chart(days, words),
            start=first,
            end=last,
            error=error,
            occupancy=gate_service.current_occupancy(session),
            max_days=stats.MAX_DAYS,
        ),
        status_code=422 if error else 200,
    )


@router.get("/admin/stats/bookings.csv")
def bookings_csv_download(
    request: Request,
    session: DbSession,
    principal: AdminPage,
    day: Annotated[date, Query(alias="date")],
) -> Response:
    return export_response(session, principal.username, day, language_of(request))


# --- accounts ----------------------------------------------------------------------------


def _users_page(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    notice: str | None = None,
    error: str | None = None,
    errors: dict[str, list[str]] | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    accounts = list_users(session)
    return render_page(
        request,
        "admin/users.html",
        base_context(
            principal,
            users=accounts,
            held_back=signin.held_back(session, [user.username for user in accounts]),
            now=clock.now(),
            notice=notice,
            error=error,
            errors=errors or {},
            form=form or {"username": "", "role": "staff"},
            min_password=MIN_PASSWORD_LENGTH,
        ),
        status_code=status_code,
    )


@router.get("/admin/users")
def users_page(
    request: Request,
    session: DbSession,
    principal: AdminPage,
    done: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    return _users_page(request, session, principal, notice=notice_of(done))


def _refused(
    request: Request, session: Session, principal: Principal, exc: DomainError, **form: str
) -> Response:
    undo_refused(session, exc)
    translate = translator(request)
    errors = problem_messages(translate, exc.details) if isinstance(exc, ValidationFailed) else {}
    return _users_page(
        request,
        session,
        principal,
        error=exc.message(language_of(request)),
        errors=errors,
        form=form or None,
        status_code=exc.status,
    )


@router.post("/admin/users")
def create_user(
    request: Request,
    session: DbSession,
    principal: AdminPage,
    csrf_token: CsrfField = "",
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    role: Annotated[str, Form(max_length=10)] = "staff",
) -> Response:
    csrf.check(request, csrf_token)
    try:
        users.create(session, username.strip(), password, role, principal.username)
    except DomainError as exc:
        return _refused(request, session, principal, exc, username=username.strip(), role=role)
    return redirect("/admin/users", done="user_created")


@router.post("/admin/users/{username}/disable")
def disable_user(
    request: Request,
    session: DbSession,
    principal: AdminPage,
    username: str,
    csrf_token: CsrfField = "",
) -> Response:
    csrf.check(request, csrf_token)
    try:
        users.disable(session, username, principal.username)
    except DomainError as exc:
        return _refused(request, session, principal, exc)
    return redirect("/admin/users", done="user_disabled")


@router.post("/admin/users/{username}/enable")
def enable_user(
    request: Request,
    session: DbSession,
    principal: AdminPage,
    username: str,
    csrf_token: CsrfField = "",
) -> Response:
    csrf.check(request, csrf_token)
    try:
        users.enable(session, username, principal.username)
    except DomainError as exc:
        return _refused(request, session, principal, exc)
    return redirect("/admin/users", done="user_enabled")


@router.post("/admin/users/{username}/reset-password")
def reset_password(
    request: Request,
    session: DbSession,
    principal: AdminPage,
    username: str,
    csrf_token: CsrfField = "",
    password: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    csrf.check(request, csrf_token)
    try:
        users.reset_password(session, username, password, principal.username)
    except DomainError as exc:
        return _refused(request, session, principal, exc)
    if username == principal.username:
        # Their own sessions ended with the reset, this one included: sign in again.
        return redirect("/staff/login", next="/admin/users")
    return redirect("/admin/users", done="password_reset")


# --- audit trail -------------------------------------------------------------------------

AUDIT_PAGE = 50


@router.get("/admin/audit")
def audit_page(
    request: Request,
    session: DbSession,
    principal: AdminPage,
    actor: Annotated[str | None, Query(max_length=64)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    target: Annotated[str | None, Query(max_length=200)] = None,
    before_id: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    filters = {"actor": actor or "", "action": action or "", "target": target or ""}
    entries = audit.recent(
        session,
        AUDIT_PAGE + 1,
        actor=actor or None,
        action=action or None,
        target=target or None,
        before_id=before_id,
    )
    older = None
    if len(entries) > AUDIT_PAGE:
        entries = entries[:AUDIT_PAGE]
        older = "/admin/audit?" + urlencode(
            {**{k: v for k, v in filters.items() if v}, "before_id": entries[-1].id}
        )
    return render_page(
        request,
        "admin/audit.html",
        base_context(
            principal,
            entries=[
                (
                    entry,
                    audit.changes(entry.before, entry.after),
                    _json(entry.before),
                    _json(entry.after),
                )
                for entry in entries
            ],
            filters=filters,
            actions=sorted(set(audit.actions(session)) | set(labels.ACTIONS)),
            older=older,
            paged=before_id is not None,
            zone=clock.zone(),
        ),
    )
