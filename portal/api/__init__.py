"""Public JSON API (blueprint ``api`` at ``/api/v1``): read-only, public projection only."""
