"""/watch: a registered organisation's watchlists (关注名单) — codes added by typing or from
a CSV/XLSX file, exported, the alerts the worker wrote, e-mail on or off, the Atom feed
of each watchlist at a secret address (``/watch/feed/<token>.atom``, no sign-in needed:
the address is the key; a new one can be made at any time), and its webhooks
(``portal.services.watch_webhooks``: registered with the secret shown once, removed).

Only the signed-in owner sees a watchlist (another's is "not found"); codes are shown
masked as they were stored (``portal.services.watchlists``).
"""
from __future__ import annotations

import io
from urllib.parse import quote

from flask import (
    Blueprint,
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy.exc import IntegrityError
from wtforms import BooleanField, SelectChoice, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, StopValidation
from wtforms.widgets import CheckboxInput, ListWidget

from portal import clock, labels
from portal.extensions import db, limiter
from portal.input_guard import small_int
from portal.public import watch_account, watch_password
from portal.public.screening import file_problem
from portal.public.watch_feed import atom
from portal.services import screening_files, watch_webhooks, watchlists, webhooks
from portal.services.report_files import FileProblem, to_csv, to_xlsx
from portal.services.watchlists import WatchlistError

ITEMS_SHOWN = 200
MAX_TYPED = 200_000       # characters of codes typed at once
CODES_LIMIT = "60 per hour"
#: the browser session's key for the webhook whose secret the next page shows
JUST_REGISTERED = "watch_new_webhook"


class NewListForm(FlaskForm):
    name = StringField(_l("Name of the watchlist"), validators=[DataRequired(), Length(max=100)])


class CodesForm(FlaskForm):
    codes = TextAreaField(_l("Codes, one per line (a label may follow a comma)"),
                          validators=[Length(max=MAX_TYPED)])
    file = FileField(_l("Or a CSV or XLSX file of codes and names"))


class SettingsForm(FlaskForm):
    email_alerts = BooleanField(_l("Send me an e-mail when a watched subject changes"))


def _at_least_one(form, field) -> None:
    # not DataRequired: it would mark every checkbox "required" in the HTML
    if not field.data:
        raise StopValidation(_l("Choose at least one kind of change."))


class WebhookForm(FlaskForm):
    url = StringField(_l("Address of your receiver (https://…)"),
                      validators=[DataRequired(), Length(max=webhooks.MAX_URL)])
    events = SelectMultipleField(
        _l("Changes sent to it"),
        choices=[SelectChoice(f"watch.{event}", text)
                 for event, text in labels.WATCH_EVENTS.items()],
        validators=[_at_least_one], option_widget=CheckboxInput(),
        widget=ListWidget(prefix_label=False))


HOOK_REFUSED = _l("This address cannot receive webhooks: its host must resolve, and only to "
                  "public internet addresses (not a private, loopback, link-local or reserved "
                  "address).")
HOOK_ERRORS = {
    "invalid_url": _l("The address must be a complete URL without a user, password or "
                      "fragment."),
    "https_required": _l("The address must begin with https://."),
    "private_address": HOOK_REFUSED,
    "unresolvable_host": HOOK_REFUSED,
    "invalid_event_types": _l("Choose at least one kind of change."),
    "expired": _l("The form has expired or is too long. Please try again."),
}


def register(bp: Blueprint) -> None:
    watch_account.register_routes(bp)
    watch_password.register_routes(bp)
    bp.add_url_rule("/watch", "watch_home", home, methods=["GET", "POST"])
    bp.add_url_rule("/watch/lists/<int:list_id>", "watch_list", show)
    # a file or up to 10,000 codes read each time: limited per address, as screening uploads
    bp.add_url_rule("/watch/lists/<int:list_id>/codes", "watch_codes",
                    limiter.limit(_codes_limit, methods=["POST"])(add_codes),
                    methods=["POST"])
    bp.add_url_rule("/watch/lists/<int:list_id>/remove", "watch_remove", remove, methods=["POST"])
    bp.add_url_rule("/watch/lists/<int:list_id>/settings", "watch_settings", settings,
                    methods=["POST"])
    bp.add_url_rule("/watch/lists/<int:list_id>/feed-address", "watch_new_feed", new_feed,
                    methods=["POST"])
    bp.add_url_rule("/watch/lists/<int:list_id>/delete", "watch_delete", delete, methods=["POST"])
    # each registration looks a name up: limited per address, as code uploads
    bp.add_url_rule("/watch/lists/<int:list_id>/webhooks", "watch_webhook_new",
                    limiter.limit(_codes_limit, methods=["POST"])(new_webhook), methods=["POST"])
    bp.add_url_rule("/watch/lists/<int:list_id>/webhooks/<int(max=2147483647):endpoint_id>/remove",
                    "watch_webhook_remove", remove_webhook, methods=["POST"])
    bp.add_url_rule("/watch/lists/<int:list_id>/export.<string:kind>", "watch_export", export)
    bp.add_url_rule("/watch/feed/<string:token>.atom", "watch_feed", feed)
    bp.url_value_preprocessor(_limit_body)


def _codes_limit() -> str:
    return current_app.config.get("PORTAL_WATCH_CODES_RATE_LIMIT", CODES_LIMIT)


def _limit_body(endpoint, values):
    if endpoint == "public.watch_codes":
        request.max_content_length = screening_files.MAX_BYTES + 64 * 1024


def _owner():
    subscriber = watch_account.current()
    if subscriber is None:
        abort(redirect(url_for("public.watch_login", jurisdiction=None), 303))
    return subscriber


def _list(list_id: int):
    subscriber = _owner()
    try:
        return subscriber, watchlists.get_owned(db.session, list_id, subscriber_id=subscriber.id)
    except WatchlistError:
        abort(404)


def _back(watchlist, **flags):
    return watch_account.private(redirect(url_for(
        "public.watch_list", list_id=watchlist.id, jurisdiction=None, **flags), 303))


def home():
    subscriber = _owner()
    form = NewListForm()
    error = None
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                made = watchlists.create(db.session, current_app.config["SECRET_KEY"],
                                         form.name.data, subscriber_id=subscriber.id,
                                         now=clock.now())
            except WatchlistError:
                db.session.rollback()
                error = _("You have as many watchlists as one account may keep (%(n)s).",
                          n=watchlists.MAX_WATCHLISTS)
            else:
                db.session.commit()
                return _back(made)
    lists = [(w, watchlists.item_count(db.session, w), watchlists.listed_count(db.session, w))
             for w in watchlists.owned_by(db.session, subscriber_id=subscriber.id)]
    status = 422 if request.method == "POST" else 200
    return watch_account.private(make_response(render_template(
        "public/watch_home.html", subscriber=subscriber, lists=lists, form=form, error=error,
        logout=FlaskForm()), status))


def _feed_url(watchlist) -> str | None:
    token = watchlists.feed_token(current_app.config["SECRET_KEY"], watchlist)
    return url_for("public.watch_feed", token=token, _external=True,
                   jurisdiction=None) if token else None


def _hook_form(**data) -> WebhookForm:
    """A blank form (every kind ticked), whatever the request posted."""
    return WebhookForm(formdata=None, events=list(watch_webhooks.EVENT_TYPES), **data)


def show(list_id: int, status: int = 200, **context):
    subscriber, watchlist = _list(list_id)
    shown = watchlists.items(db.session, watchlist, limit=ITEMS_SHOWN)
    settings_form = SettingsForm(email_alerts=watchlist.email_alerts)
    hooks = watch_webhooks.endpoints_of(db.session, watchlist)
    context.setdefault("hook_form", _hook_form())
    context.update(_just_registered(watchlist))
    return watch_account.private(make_response(render_template(
        "public/watch_list.html", subscriber=subscriber, watchlist=watchlist, items=shown,
        count=watchlists.item_count(db.session, watchlist),
        listed=watchlists.listed_count(db.session, watchlist),
        alerts=watchlists.alerts(db.session, watchlist), events=labels.WATCH_EVENTS,
        feed_url=_feed_url(watchlist), form=context.pop("form", None) or CodesForm(),
        settings=settings_form, plain=FlaskForm(), max_items=watchlists.MAX_ITEMS,
        added=request.args.get("added", type=int), hooks=hooks,
        hook_counts=webhooks.counts(db.session, [h.id for h in hooks]), host_of=webhooks.host_of,
        max_hooks=watch_webhooks.MAX_ENDPOINTS,
        hook_room=watch_webhooks.active_count(db.session, watchlist) < watch_webhooks.MAX_ENDPOINTS,
        **context), status))


def add_codes(list_id: int):
    _subscriber, watchlist = _list(list_id)
    form = CodesForm()
    if not form.validate_on_submit():
        return show(list_id, 422, form=form, add_error=_(
            "The form has expired or is too long. Please try again."))
    storage = form.file.data
    if storage is not None and getattr(storage, "filename", ""):
        try:
            records = screening_files.read_records(
                storage.read(screening_files.MAX_BYTES + 1), storage.filename)
        except FileProblem as problem:
            return show(list_id, 422, form=form, add_error=file_problem(problem))
        lines = [(r.row, r.code, r.name) for r in records]
    else:
        lines = screening_files.typed_lines(form.codes.data)
    if not lines:
        return show(list_id, 422, form=form, add_error=_("Please type codes or choose a file."))
    try:
        result = watchlists.add_codes(db.session, current_app.config["PORTAL_LOOKUP_KEY"],
                                      watchlist, lines, clock.today(), clock.now())
        db.session.commit()
    except IntegrityError:
        # another request (a second tab, a double click) added some of these codes meanwhile:
        # read the list again, and those are "already watched"
        db.session.rollback()
        result = watchlists.add_codes(db.session, current_app.config["PORTAL_LOOKUP_KEY"],
                                      watchlist, lines, clock.today(), clock.now())
        db.session.commit()
    if result.errors or result.over_limit:
        return show(list_id, 200, form=CodesForm(), result=result)
    return _back(watchlist, added=result.added)


def remove(list_id: int):
    _subscriber, watchlist = _list(list_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    ids = [i for i in map(small_int, request.form.getlist("item")[:watchlists.MAX_ITEMS])
           if i is not None]
    watchlists.remove_items(db.session, watchlist, ids)
    db.session.commit()
    return _back(watchlist)


def settings(list_id: int):
    _subscriber, watchlist = _list(list_id)
    form = SettingsForm()
    if not form.validate_on_submit():
        abort(400)
    watchlist.email_alerts = bool(form.email_alerts.data)
    db.session.commit()
    return _back(watchlist)


def new_feed(list_id: int):
    _subscriber, watchlist = _list(list_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    watchlists.new_feed_token(db.session, current_app.config["SECRET_KEY"], watchlist)
    db.session.commit()
    return _back(watchlist)


def delete(list_id: int):
    subscriber, watchlist = _list(list_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    watchlists.delete(db.session, watchlist, actor=watch_webhooks.actor_of(subscriber),
                      now=clock.now())
    db.session.commit()
    return watch_account.private(redirect(url_for("public.watch_home", jurisdiction=None), 303))


def new_webhook(list_id: int):
    """Register a webhook of the watchlist, then show the watchlist's page with its secret
    this once (:func:`_just_registered`): redirected, so that reloading the page shows it
    without registering another."""
    subscriber, watchlist = _list(list_id)
    form = WebhookForm()
    if not form.validate_on_submit():
        code = ("expired" if "csrf_token" in form.errors else
                "invalid_event_types" if form.events.errors else "invalid_url")
        return show(list_id, 422, hook_form=form, hook_error=HOOK_ERRORS[code])
    try:
        endpoint, secret = watch_webhooks.register(
            db.session, watch_webhooks.actor_of(subscriber), watchlist, form.url.data,
            form.events.data, secret_key=current_app.config["SECRET_KEY"], now=clock.now(),
            allow_http_hosts=current_app.config.get("PORTAL_WEBHOOK_ALLOW_HTTP_HOSTS") or ())
    except webhooks.WebhookError as problem:
        db.session.rollback()
        message = HOOK_ERRORS.get(problem.code) or _(
            "A watchlist may have at most %(n)s webhooks: remove one first.",
            n=watch_webhooks.MAX_ENDPOINTS)
        return show(list_id, 422, hook_form=form, hook_error=message)
    db.session.commit()
    session[JUST_REGISTERED] = endpoint.id         # the number only: the secret stays sealed
    return _back(watchlist, _anchor="webhooks")


def _just_registered(watchlist) -> dict:
    """The webhook registered by the request before, with its secret, for this one page (the
    browser's session holds its number until then; an endpoint of another watchlist, or one
    removed meanwhile, is not shown)."""
    endpoint_id = session.pop(JUST_REGISTERED, None)
    endpoint = (watch_webhooks.endpoint_of(db.session, watchlist, endpoint_id)
                if isinstance(endpoint_id, int) else None)
    if endpoint is None or not endpoint.active:
        return {}
    return {"new_hook": endpoint,
            "new_secret": webhooks.secret_of(current_app.config["SECRET_KEY"], endpoint)}


def remove_webhook(list_id: int, endpoint_id: int):
    subscriber, watchlist = _list(list_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    endpoint = watch_webhooks.endpoint_of(db.session, watchlist, endpoint_id)
    if endpoint is None:
        abort(404)
    watch_webhooks.remove(db.session, watch_webhooks.actor_of(subscriber), endpoint, clock.now())
    db.session.commit()
    return _back(watchlist)


def export(list_id: int, kind: str):
    _subscriber, watchlist = _list(list_id)
    if kind not in ("csv", "xlsx"):
        abort(404)
    header = [_("Code (masked)"), _("Your label"), _("Listed today (public id)"), _("Added on")]
    rows = watchlists.export_rows(db.session, watchlist)
    data = to_csv(header, rows) if kind == "csv" else to_xlsx(header, rows, title=_("Watchlist"))
    name = f"watchlist-{watchlist.id}-{clock.today().isoformat()}.{kind}"
    mimetype = ("text/csv; charset=utf-8" if kind == "csv" else
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response = send_file(io.BytesIO(data), mimetype=mimetype, as_attachment=True,
                         download_name=name)
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    return watch_account.private(response)


def feed(token: str):
    watchlist = watchlists.by_feed_token(db.session, token)
    if watchlist is None:
        abort(404)
    body = atom(watchlist, watchlists.alerts(db.session, watchlist),
                url_for("public.watch_feed", token=token, _external=True, jurisdiction=None),
                clock.now())
    response = make_response(body)
    response.headers["Content-Type"] = "application/atom+xml; charset=utf-8"
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex"
    return response
