"""``subgen serve``: the HTTP driver of the pipeline (jobs, OpenAI- and whisper-asr-webservice-compatible routes).

One engine is loaded once and kept warm; a single worker thread owns it and runs the queued jobs one after
another, so decoding never blocks the event loop. Jobs live in SQLite under the state folder: a restart resumes
what was queued or interrupted and keeps what was finished. FastAPI and uvicorn (the ``[server]`` extra) are
imported only by ``subgen.service.app`` and the modules it pulls in, never by this package's ``__init__``.
"""
