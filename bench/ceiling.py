"""The ceiling: the least a Flask page can cost under the portal's gunicorn settings.

``make bench`` serves it with the same ``gunicorn.conf.py`` (workers, threads,
access log) as the portal, beside it, and reports every page of the portal as
a ratio to this app's throughput measured in the same run:

    gunicorn -c gunicorn.conf.py bench.ceiling:app
"""
from __future__ import annotations

from flask import Flask

app = Flask(__name__)

PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>失信名单</title></head>
<body><h1>严重失信主体名单</h1><p>这是一个最小的页面。</p></body></html>
"""


@app.get("/")
def index():
    return PAGE, 200, {"Content-Type": "text/html; charset=utf-8"}
