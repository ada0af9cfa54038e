"""Print the Redis URL if that Redis answers (exit 0), else nothing (exit 1).

``make run`` uses it to share the rate limits of its worker processes through
the machine's Redis when one is running::

    PORTAL_REDIS_URL="$(.venv/bin/python scripts/redis_probe.py)" || true

Usage: ``python scripts/redis_probe.py [URL]`` (default ``redis://127.0.0.1:6379/0``).
Imports nothing of the portal: it answers within the connect timeout.
"""
from __future__ import annotations

import sys

DEFAULT_URL = "redis://127.0.0.1:6379/0"


def answers(url: str, timeout: float = 1.0) -> bool:
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (redis.RedisError, OSError, ValueError):
        return False


def main(argv: list[str]) -> int:
    url = argv[1] if len(argv) > 1 else DEFAULT_URL
    if not answers(url):
        return 1
    print(url)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
