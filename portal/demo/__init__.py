"""Demo and benchmark data (``flask --app wsgi seed-demo``).

:func:`portal.demo.seed.seed_city` — a believable, deterministic demo city
for the active profile, built through the services;
:func:`portal.demo.bulk.seed_bulk` — a large projection for benchmarks.
"""
