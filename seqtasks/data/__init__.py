"""Readers (files -> Python/pandas) and tf.data input pipelines."""
