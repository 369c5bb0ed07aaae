"""Serving a registered version over HTTP: `weightline serve production`.

The server answers with the exact version that holds a stage (or a version named outright),
loaded through `weightline.api.load_model` (SHA-256-verified, signature-guarded), follows the
stage as it moves (promote, rollback) with an atomic swap, can send a share of traffic to a canary,
and labels every answer, metric and log line with the version that produced it.

Modules, each named for what it holds:
  payload    request bodies checked against a version's signature (records or columns)
  served     one loaded, warmed version ready to answer, and its output rows
  routing    which version answers a request: the primary, or the canary by a stable key
  state      what the app and the follower share: the routing, metrics, log
  follow     the stage watcher: polls the tags, loads, verifies, warms and swaps
  registry   what the follower needs from the project, through the public API and git
  metrics    Prometheus metrics, every series labelled with the exact version
  predlog    the prediction log (JSON lines) and its reader
  app        the FastAPI application: /predict, /version, /healthz, /metrics, /admin/check
  server     starting it all under uvicorn
  scrape     reading /metrics back: per-version live figures and the canary comparison
  timeline   stage events merged with what was served, for the terminal, JSON and HTML

FastAPI, uvicorn and prometheus-client are imported only by the modules that need them, so
`weightline --help` and the rest of the CLI never pay for them.
"""
