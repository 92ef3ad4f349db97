"""The HTTP service (``notes-nlp serve``): a JSON API and HL7 CDS Hooks over the one scoring API.

A shell, like the CLI: the core never imports it. Needs the ``service`` extra
(FastAPI, uvicorn, fhir.resources).
"""
