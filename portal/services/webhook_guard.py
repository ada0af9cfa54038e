"""The guard on webhooks that outsiders register: nothing is sent into the bureau's network.

An organisation's watchlist (``portal.services.watch_webhooks``) may have webhooks, and
an organisation is an outsider: the address it gives could name the bureau's own
systems (``https://10.0.0.5/admin``, a cloud's metadata service at ``169.254.169.254``, a
name of its own whose DNS answers ``127.0.0.1``) and make the portal post to them — a
server-side request forgery. So for an endpoint that :func:`applies_to`:

* **at registration** the address's host is resolved, and the address is refused when the
  host does not resolve (within :data:`LOOKUP_TIMEOUT`) or when *any* of its addresses is
  not :func:`is_public`;
* **at every delivery attempt** the host is resolved again (within the connect timeout),
  every address checked again, and the connection opened to an address that was just
  checked — the URL, the ``Host`` header, TLS's SNI and the certificate's name stay the
  host's (:class:`GuardedBackend`, the httpcore network backend under the httpx client: it
  replaces only the opening of the TCP connection, so no second look-up between the check
  and the connect can answer otherwise — no DNS rebinding). A refused attempt raises
  :class:`Refused`, which the delivery records as a failed attempt (``RefusedAddress`` /
  ``UnresolvableHost``) and backs off like any other failure, until the delivery is given up.

:func:`is_public` keeps globally reachable unicast addresses only: it refuses private
(10/8, 172.16/12, 192.168/16, fc00::/7), loopback, link-local (169.254/16, fe80::/10),
multicast, reserved, unspecified, site-local (fec0::/10), shared CGNAT (100.64/10),
benchmarking (198.18/15), IETF (192.0.0/24), IPv4-mapped (``::ffff:a.b.c.d``), NAT64
(64:ff9b::/96, 64:ff9b:1::/48), 6to4 (2002::/16) and Teredo (2001::/32) addresses —
Python's ``ipaddress.is_global`` and explicit checks for what it lets through.

Hosts named in ``PORTAL_WEBHOOK_ALLOW_HTTP_HOSTS`` (empty in production; the tests name
``127.0.0.1``) are exempt: they are the operator's own choice.

**The bureau's API clients are not guarded.** Their endpoints are registered by the
bureau's own systems, holding a token an admin issued, and usually sit on the bureau's
private network: refusing private addresses would refuse exactly them. The guard applies
to every endpoint not owned by an API client (:func:`applies_to`).

An organisation's webhook is sent directly, never through a proxy named in the
environment (``HTTPS_PROXY``): a proxy would look the name up again itself, after the
check.
"""
from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
import typing
from collections.abc import Iterable
from urllib.parse import urlsplit

import httpcore
import httpx

#: Networks ``ipaddress.is_global`` calls global (or that Python versions disagree on) that
#: no organisation's receiver is on.
NOT_PUBLIC = tuple(ipaddress.ip_network(net) for net in (
    "0.0.0.0/8", "100.64.0.0/10", "192.0.0.0/24", "192.88.99.0/24", "198.18.0.0/15",
    "240.0.0.0/4", "64:ff9b::/96", "64:ff9b:1::/48", "2001::/32", "2002::/16", "fec0::/10"))


class Refused(Exception):
    """The address may not be connected to. ``code``: ``private_address`` (an address of
    the host is not public) or ``unresolvable_host``; ``error`` is what the delivery log
    records."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code

    @property
    def error(self) -> str:
        return "UnresolvableHost" if self.code == "unresolvable_host" else "RefusedAddress"


def applies_to(api_client_id: int | None) -> bool:
    """Is an endpoint of this owner guarded? Every one but an API client's (see above)."""
    return api_client_id is None


def is_public(address: str) -> bool:
    """Is ``address`` (an IPv4 or IPv6 address as text) a globally reachable unicast one?"""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped is not None:
        return False
    if not ip.is_global or ip.is_private or ip.is_loopback or ip.is_link_local \
            or ip.is_multicast or ip.is_reserved or ip.is_unspecified:
        return False
    return not any(ip.version == net.version and ip in net for net in NOT_PUBLIC)


#: Seconds a look-up may take at registration (at delivery: the connect timeout). The
#: system's resolver has no limit of its own that we set, and a name's owner chooses how
#: slowly its DNS answers: unbounded, one slow name would hold a web worker, or the round
#: of deliveries that every other receiver, the bureau's own included, waits for.
LOOKUP_TIMEOUT = 5.0
#: Look-ups still running at once (a stalled one ends when the system's resolver gives up);
#: beyond that, a host is taken as unresolvable for now (the delivery backs off).
LOOKUPS_RUNNING = 32
_running = threading.BoundedSemaphore(LOOKUPS_RUNNING)


def resolve(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to now (the system's resolver), in its order.
    Raises ``OSError`` when it does not resolve."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in found
                              if info[0] in (socket.AF_INET, socket.AF_INET6)))


def _exempt(host: str, allow_hosts: Iterable[str]) -> bool:
    return host.lower().strip("[]") in {h.lower().strip("[]") for h in allow_hosts}


def resolve_within(host: str, port: int, timeout: float | None) -> list[str]:
    """:func:`resolve` in a thread of its own, waited for at most ``timeout`` seconds
    (``None``: :data:`LOOKUP_TIMEOUT`); ``OSError`` when it fails, takes longer, or too many
    look-ups are still running."""
    if not _running.acquire(blocking=False):
        raise OSError("too many look-ups running")
    found: list = []

    def look_up() -> None:
        try:
            found.append(resolve(host, port))
        except Exception as error:              # noqa: BLE001 - handed to the waiting thread
            found.append(error)
        finally:
            _running.release()

    worker = threading.Thread(target=look_up, name="webhook-lookup", daemon=True)
    worker.start()
    worker.join(LOOKUP_TIMEOUT if timeout is None else timeout)
    if not found:
        raise OSError("the look-up took too long")
    if isinstance(found[0], Exception):
        raise found[0]
    return found[0]


def checked(host: str, port: int, timeout: float | None = None) -> list[str]:
    """``host``'s addresses, every one of them public; :class:`Refused` otherwise (also
    when the look-up takes longer than ``timeout``: :func:`resolve_within`)."""
    try:
        addresses = resolve_within(host, port, timeout)
    except (OSError, UnicodeError):
        raise Refused("unresolvable_host") from None
    if not addresses:
        raise Refused("unresolvable_host")
    if not all(is_public(address) for address in addresses):
        raise Refused("private_address")
    return addresses


def check_url(url: str, allow_hosts: Iterable[str] = ()) -> None:
    """At registration: :class:`Refused` unless the address's host is exempt or resolves to
    public addresses only (``url`` has passed ``webhooks.check_url``)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if not _exempt(host, allow_hosts):
        checked(host, parts.port or (443 if parts.scheme == "https" else 80))


class GuardedBackend(httpcore.NetworkBackend):
    """httpcore's network backend with the check: a TCP connection is opened only to an
    address of the host that was resolved and checked just now (or to an exempt host).
    TLS is started on that connection by httpcore with the URL's host as SNI and as the
    name the certificate must carry."""

    def __init__(self, allow_hosts: Iterable[str] = (),
                 inner: httpcore.NetworkBackend | None = None):
        self.allow_hosts = tuple(allow_hosts)
        self.inner = inner or httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: typing.Iterable | None = None) -> httpcore.NetworkStream:
        if _exempt(host, self.allow_hosts):
            return self.inner.connect_tcp(host, port, timeout, local_address, socket_options)
        failure: Exception | None = None
        for address in checked(host, port, timeout):
            try:
                return self.inner.connect_tcp(address, port, timeout, local_address,
                                              socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                failure = error
        raise failure

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: typing.Iterable | None = None):
        raise Refused("private_address")

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


def guarded_transport(verify: ssl.SSLContext | bool, limits: httpx.Limits,
                      allow_hosts: Iterable[str] = (),
                      inner: httpcore.NetworkBackend | None = None) -> httpx.HTTPTransport:
    """httpx's own transport whose connection pool opens connections through
    :class:`GuardedBackend` (httpx takes no network backend as an argument yet, so the pool
    it made is replaced by the same pool with the guard; a change of httpx's insides fails
    here, loudly, rather than sending unguarded)."""
    transport = httpx.HTTPTransport(verify=verify, limits=limits, trust_env=False)
    made = getattr(transport, "_pool", None)
    if type(made) is not httpcore.ConnectionPool:
        raise RuntimeError("httpx's transport changed: the webhook guard cannot be fitted")
    transport._pool = httpcore.ConnectionPool(
        ssl_context=made._ssl_context, max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry, http1=True, http2=False,
        network_backend=GuardedBackend(allow_hosts, inner))
    return transport
