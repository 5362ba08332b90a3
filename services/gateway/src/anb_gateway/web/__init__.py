"""The web app served at ``/`` (everything outside ``/api``): server-rendered pages for visitors,
players and voters, built on the API's own rules (see docs/api.md, "Web app").

Kept import-light: ``anb_gateway.web.session`` is used by ``/api`` routes that the contract opens to
the web session (events, tus) and must not pull in templates.
"""
