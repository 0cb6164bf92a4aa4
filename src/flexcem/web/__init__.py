"""HTTP apps (FastAPI) and dashboards: the grid operator's (:mod:`flexcem.web.grid_app`) and the household's
(:mod:`flexcem.web.cem_app`). Dashboards are static pages in ``static/`` that work offline (no CDN)."""
