"""REST serving of exported models, speaking TensorFlow Serving's REST API.

``seqtasks serve DIR [DIR ...]`` (``server.serve``) or, for any ASGI server,
``app.create_app(models.load_models(["saved_models/sentiment"]))``. Requests are driven by each
SavedModel's signatures and ``seqtasks.json`` only, so every task's export is served alike.

    models.py   export roots -> loaded versions -> signatures with input/output specs
    codec.py    TF Serving JSON (rows / columns, b64) <-> numpy arrays, checked against the specs
    batcher.py  micro-batching of concurrent requests into one model call
    app.py      the Starlette routes, error responses, body-size limit
    server.py   uvicorn: bind, serve, graceful shutdown
"""
