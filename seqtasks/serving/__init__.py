"""A TensorFlow Serving drop-in: TF Serving's REST and gRPC APIs over any SavedModel.

``seqtasks serve NAME=BASE_PATH ...`` (``server.serve``) or, for any ASGI server,
``app.create_app(models.load_models(["saved_models/sentiment"]))``. Requests are driven by each
SavedModel's SignatureDefs only (``seqtasks.json``, where present, adds metadata), so any
SavedModel in TF Serving's layout is served alike.

    models.py        version directories -> loaded versions (Session) -> signatures and specs
    manager.py       which versions are served: policies, polling the base paths, unloading
    config_file.py   TF Serving's --model_config_file (model_config_list, text format)
    codec.py         TF Serving JSON (rows / columns, b64) <-> numpy arrays, checked against specs
    examples.py      Classify / Regress: tf.Examples in, results out
    batcher.py       micro-batching of concurrent requests into one model call
    core.py          what REST and gRPC share: batchers, threads, metrics, model error mapping
    app.py           the Starlette routes (REST, Prometheus, demo page), body-size limit
    grpc_service.py  PredictionService and ModelService on grpc.aio
    metrics.py       the Prometheus metrics
    server.py        uvicorn: bind, serve, graceful shutdown
"""
