"""Keras layers shared by the pipelines (keras.layers / keras.ops only)."""
