"""Briefings: the operations centre's picture as PDF, PNG and self-contained HTML.

    compose.py   gathers the figures (queries/, kpis/) and writes one HTML document
    render.py    prints it with headless Chromium (Playwright): PDF, PNG; refuses blank output
    archive.py   stores each file under VAR_DIR/briefings/YYYY/MM and a row in ``briefings``
    produce.py   compose → render → archive, for one request (CLI, Briefings page)
    schedule.py  the morning briefing: once per local day, retried, run by the scheduler
"""
