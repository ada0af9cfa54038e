"""The worker's two webhook jobs (``portal.worker`` runs them every second).

* **fan-out** — once for all hosts (the job's lock): the new case events are queued for
  each endpoint (:func:`portal.services.webhooks.fan_out`); once a day the deliveries
  delivered more than 30 days ago are pruned with their attempts.
* **delivery** — on every host: due deliveries are sent in a thread of its own
  (:func:`portal.services.webhook_delivery.deliver_due`), so a receiver that takes its
  whole timeout never holds up the worker's loop (the index sync, the other jobs). One
  such thread per worker at a time; the claims keep hosts from sending the same delivery.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import current_app

from portal import clock
from portal.extensions import db

log = logging.getLogger("portal.worker")
THREAD_NAME = "webhook-delivery"


@dataclass
class WebhookJobs:
    host: str
    stopping: Callable[[], bool] = lambda: False
    sending: threading.Thread | None = field(default=None, repr=False)
    pruned_on: dt.date | None = None

    def fan_out(self) -> int:
        """Queue the new events; once a day (of this worker) prune the old delivered rows."""
        from portal.services import webhook_delivery, webhooks

        queued = webhooks.fan_out(db.session, clock.now(), after_each=db.session.commit)
        db.session.commit()
        if queued:
            log.info("webhooks: %d deliveries queued", queued)
        if self.pruned_on != clock.today():
            pruned = webhook_delivery.prune_delivered(db.session, clock.now())
            db.session.commit()
            self.pruned_on = clock.today()
            if pruned:
                log.info("webhooks: %d delivered rows pruned", pruned)
        return queued

    def deliver(self) -> bool:
        """Start sending the due deliveries unless this worker is at it already; True when
        a thread was started."""
        from portal.services import webhook_delivery

        if self.sending is not None and self.sending.is_alive():
            return False
        due = webhook_delivery.any_due(db.session, clock.now())
        db.session.rollback()
        if not due:
            return False
        app = current_app._get_current_object()
        self.sending = threading.Thread(target=self._send, args=(app,), name=THREAD_NAME,
                                        daemon=True)
        self.sending.start()
        return True

    def _send(self, app) -> None:
        from portal.services import webhook_delivery

        with app.app_context():
            try:
                result = webhook_delivery.deliver_due(
                    db.session, app.config, self.host, clock.now(),
                    after_each=db.session.commit, stopping=self.stopping)
                if result.tried:
                    log.info("webhooks: %d delivered, %d to retry, %d dead", result.delivered,
                             result.retrying, result.dead)
            except Exception as error:               # noqa: BLE001 - the next round retries
                log.error("webhook delivery: failed (%s); retrying", type(error).__name__)
            finally:
                db.session.rollback()
                db.session.remove()

    def join(self, timeout: float | None = None) -> None:
        if self.sending is not None:
            self.sending.join(timeout)
